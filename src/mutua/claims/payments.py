"""Payment batches (赔款支付批次): pay every approved, unpaid claim of a project at once.

Idempotent by construction: a claim is paid once per decision round (a unique key on
claim_payments), the batch key is unique, and the batch's journal entry carries that key.
A second run finds nothing payable and stores nothing; two runs racing each other cannot
both insert the same payment, so one of them rolls back whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.claims import books
from mutua.claims.models import DECIDED, PAID, Claim, ClaimPayment, PaymentBatch
from mutua.dates import today as shanghai_today
from mutua.errors import Conflict, Problem, ValidationFailed
from mutua.ledger import service as ledger_service
from mutua.money import ZERO


@dataclass(frozen=True)
class BatchResult:
    batch_key: str | None  # None when there was nothing to pay
    project: str
    paid_on: date
    claims: int
    total: Decimal


def pay(db: Session, *, project_code: str, actor: Principal, on: date | None = None,
        claim_ids: list[int] | None = None) -> BatchResult:
    """Pay the project's approved claims (or just ``claim_ids``, each of which must be payable)."""
    on = on or shanghai_today()
    project = catalog_service.get_project(db, code=project_code)
    # a batch dated ``on`` pays only what was decided by then
    payable = [Claim.project_id == project.id, Claim.status == DECIDED,
               Claim.approved > Claim.paid, Claim.decided_on <= on]
    if claim_ids is not None:
        _check_payable(db, project.id, claim_ids, payable)
        payable.append(Claim.id.in_(claim_ids))
    count = db.scalar(select(func.count()).select_from(Claim).where(*payable))
    if not count:
        return BatchResult(None, project.code, on, 0, ZERO)

    seq = db.scalar(select(func.count()).select_from(PaymentBatch).where(
        PaymentBatch.project_id == project.id, PaymentBatch.paid_on == on)) + 1
    batch = PaymentBatch(batch_key=f"{project.code}:{on:%Y%m%d}:{seq}", project_id=project.id,
                         paid_on=on, created_by=actor.user_id)
    try:
        db.add(batch)
        db.flush()
        db.execute(insert(ClaimPayment).from_select(
            ["claim_id", "project_id", "member_id", "batch_id", "round", "amount", "paid_on"],
            select(Claim.id, Claim.project_id, Claim.member_id, literal(batch.id),
                   Claim.decision_round, Claim.approved - Claim.paid, literal(on, Date))
            .where(*payable)))
    except IntegrityError:
        # another batch for the project committed first; this one stores nothing
        raise Conflict(f"another payment batch for {project_code} ran at the same time; "
                       "run again to pay what is left") from None
    in_batch = select(ClaimPayment.claim_id).where(ClaimPayment.batch_id == batch.id)
    db.execute(update(Claim).where(Claim.id.in_(in_batch))
               .values(paid=Claim.approved, status=PAID)
               .execution_options(synchronize_session=False))
    rows = db.execute(select(ClaimPayment.claim_id, ClaimPayment.amount)
                      .where(ClaimPayment.batch_id == batch.id)).all()
    total = sum((amount for _, amount in rows), ZERO)
    batch.claims, batch.total = len(rows), total
    ledger_service.post(db, books.payment_entry(project_id=project.id, batch_key=batch.batch_key,
                                                on=on, total=total, claims=len(rows)))
    audit.record(db, actor=actor, action="claims.pay", entity="claim_payment_batch",
                 entity_id=batch.id, project_id=project.id,
                 detail={"batch_key": batch.batch_key, "claims": len(rows), "total": str(total)})
    audit.record_many(db, actor=actor, action="claim.paid", entity="claim", rows=[
        (cid, project.id, {"batch_key": batch.batch_key, "amount": str(amount)})
        for cid, amount in rows])
    db.flush()
    _refresh(db)
    return BatchResult(batch.batch_key, project.code, on, len(rows), total)


def _check_payable(db: Session, project_id: int, claim_ids: list[int], payable) -> None:
    ok = set(db.scalars(select(Claim.id).where(*payable, Claim.id.in_(claim_ids))))
    problems = [Problem("claim_ids", f"claim {cid} is not approved and unpaid in this project")
                for cid in claim_ids if cid not in ok]
    if problems:
        raise ValidationFailed(problems)


def _refresh(db: Session) -> None:
    """Claims already loaded in the session must not keep their pre-payment state."""
    for obj in list(db.identity_map.values()):
        if isinstance(obj, Claim):
            db.expire(obj)

