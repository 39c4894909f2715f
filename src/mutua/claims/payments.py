"""Payment batches (赔款支付批次): pay every approved, unpaid claim of a project at once.

Idempotent by construction: a claim is paid once per decision round (a unique key on
claim_payments), the batch key is unique, and the batch's journal entry carries that key.
A second run finds nothing payable and stores nothing. Batches racing each other: exactly
one pays; one that ran beside it is refused whole with a Conflict (409), one that started
after it finds nothing to pay.

Two checks guard the money: an item approved above what its benefit can still pay is not
paid (the claim is named in the result), and the batch's total must be covered by the
project's cash and any approved overdraft (ledger_service.spend_cash), else 409.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.models import Project
from mutua.claims import adjudication as rules
from mutua.claims import books, ceilings, inputs
from mutua.claims.models import DECIDED, PAID, Claim, ClaimItem, ClaimPayment, PaymentBatch
from mutua.claims.schemas import RefusedOut as Refusal
from mutua.dates import today as shanghai_today
from mutua.errors import Conflict, Problem, ValidationFailed
from mutua.ledger import service as ledger_service
from mutua.ledger.service import fen_sum
from mutua.money import ZERO, from_fen
from mutua.notify import service as notify
from mutua.policies import cover as policy_cover

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: a NOWAIT lock found the rows held


@dataclass(frozen=True)
class BatchResult:
    batch_key: str | None  # None when there was nothing to pay
    project: str
    paid_on: date
    claims: int
    total: Decimal
    refused: tuple[Refusal, ...] = ()  # claims left unpaid, above their ceiling


def _payable(db: Session, project_id: int, on: date, claim_ids: list[int] | None) -> list:
    """The claims a batch dated ``on`` pays: decided by then and not yet paid, or just
    ``claim_ids``, each of which must be such a claim (else ValidationFailed)."""
    payable = [Claim.project_id == project_id, Claim.status == DECIDED,
               Claim.approved > Claim.paid, Claim.decided_on <= on]
    if claim_ids is not None:
        _check_payable(db, project_id, claim_ids, payable)
        payable.append(Claim.id.in_(claim_ids))
    return payable


@dataclass(frozen=True)
class _Scope:
    """The claims a batch run now would pay, read without taking hold of anything."""

    payable: list  # conditions of a payable claim
    refused: tuple[Refusal, ...]  # items above their ceiling: their claims are left unpaid
    paid: list  # conditions of a claim the batch pays: payable and not held back


def _scope(db: Session, project_id: int, on: date, claim_ids: list[int] | None) -> _Scope:
    """The one home of "which claims a batch pays": the payable claims less those the
    ceiling check holds back (what :func:`pay` does after taking hold of them)."""
    payable = _payable(db, project_id, on, claim_ids)
    ids = list(db.scalars(select(Claim.id).where(*payable)))
    refused = tuple(above_ceiling(db, claim_ids=ids)) if ids else ()
    held_back = sorted({r.claim_id for r in refused})
    return _Scope(payable, refused, [*payable, Claim.id.not_in(held_back)])


def check_can_pay(db: Session, *, project: Project, on: date | None = None,
                  claim_ids: list[int] | None = None) -> Decimal:
    """What a batch would pay now, refused with a Conflict if the cash cannot cover it.

    Asked before a batch is queued, so the person who asked hears of a shortfall at once;
    nothing is locked or written (the batch checks again when it runs).
    """
    on = on or shanghai_today()
    scope = _scope(db, project.id, on, claim_ids)
    total = from_fen(int(db.scalar(select(fen_sum(Claim.approved - Claim.paid))
                                   .where(*scope.paid)) or 0))
    _check_cash(db, project.id, total, on)
    return total


def _check_cash(db: Session, project_id: int, total: Decimal, on: date) -> None:
    if total:
        ledger_service.covers_cash(db, project_id=project_id, amount=total, on=on)


def pay(db: Session, *, project_code: str, actor: Principal, on: date | None = None,
        claim_ids: list[int] | None = None) -> BatchResult:
    """Pay the project's approved claims (or just ``claim_ids``, each of which must be payable).

    Before any money moves the batch takes hold of the claims it pays, re-checks each item
    against what its benefit can still pay (a claim above it is left unpaid and reported),
    and checks that the project's cash, with any approved overdraft, covers the total.
    """
    on = on or shanghai_today()
    project = catalog_service.get_project(db, code=project_code)
    payable = _payable(db, project.id, on, claim_ids)
    ids = _hold(db, payable, project.code)
    if not ids:
        return BatchResult(None, project.code, on, 0, ZERO)
    refused = above_ceiling(db, claim_ids=ids)
    _record_refusals(db, actor, project.id, refused)
    held_back = sorted({r.claim_id for r in refused})
    if len(held_back) == len(ids):
        return BatchResult(None, project.code, on, 0, ZERO, tuple(refused))

    batch = _open_batch(db, project, on, actor)
    db.execute(insert(ClaimPayment).from_select(
        ["claim_id", "project_id", "member_id", "batch_id", "round", "amount", "paid_on"],
        select(Claim.id, Claim.project_id, Claim.member_id, literal(batch.id),
               Claim.decision_round, Claim.approved - Claim.paid, literal(on, Date))
        .where(*payable, Claim.id.not_in(held_back))))
    rows = db.execute(select(ClaimPayment.claim_id, ClaimPayment.amount)
                      .where(ClaimPayment.batch_id == batch.id)).all()
    if sorted(cid for cid, _ in rows) != sorted(set(ids) - set(held_back)):
        # another batch paid some of them after this one looked (SQLite lets it in between)
        raise Conflict("another payment batch for %(project)s ran at the same time; run "
                       "again to pay what is left", project=project.code)
    total = sum((amount for _, amount in rows), ZERO)
    ledger_service.spend_cash(db, project_id=project.id, amount=total, on=on)
    in_batch = select(ClaimPayment.claim_id).where(ClaimPayment.batch_id == batch.id)
    db.execute(update(Claim).where(Claim.id.in_(in_batch))
               .values(paid=Claim.approved, status=PAID)
               .execution_options(synchronize_session=False))
    batch.claims, batch.total = len(rows), total
    ledger_service.post(db, books.payment_entry(project_id=project.id, batch_key=batch.batch_key,
                                                on=on, total=total, claims=len(rows)))
    audit.record(db, actor=actor, action="claims.pay", entity="claim_payment_batch",
                 entity_id=batch.id, project_id=project.id,
                 detail={"batch_key": batch.batch_key, "claims": len(rows), "total": str(total),
                         "refused": held_back})
    audit.record_many(db, actor=actor, action="claim.paid", entity="claim", rows=[
        (cid, project.id, {"batch_key": batch.batch_key, "amount": str(amount)})
        for cid, amount in rows])
    # each member paid hears of it, in one INSERT
    notify.tell_from_select(db, event="claim.paid", rows=select(
        ClaimPayment.project_id, ClaimPayment.member_id, ClaimPayment.claim_id,
        Claim.claim_number, ClaimPayment.amount).join(Claim, Claim.id == ClaimPayment.claim_id)
        .where(ClaimPayment.batch_id == batch.id))
    db.flush()
    _refresh(db)
    return BatchResult(batch.batch_key, project.code, on, len(rows), total, tuple(refused))


@dataclass(frozen=True)
class Preview:
    """What a batch run now would pay, before anything moves: claims, members, total, the
    first claims in claim order, and the claims it would leave unpaid (above their ceiling)."""

    project_code: str
    on: date
    claims: int
    members: int
    total: Decimal
    first: tuple  # (claim id, claim number, member id, amount), at most ``shown``
    refused: tuple[Refusal, ...]


def preview(db: Session, *, project: Project, on: date | None = None,
            shown: int = 50) -> Preview:
    """The batch :func:`pay` would make now, read without taking hold of anything (set-based:
    one count, one sum, the first ``shown`` rows and the ceiling check of the claims).

    Refused with a Conflict, as :func:`check_can_pay` is, when the cash cannot cover it, so
    nobody is asked to confirm a batch that cannot run.
    """
    on = on or shanghai_today()
    scope = _scope(db, project.id, on, None)
    count, members, total = db.execute(select(
        func.count(Claim.id), func.count(func.distinct(Claim.member_id)),
        func.coalesce(fen_sum(Claim.approved - Claim.paid), 0)).where(*scope.paid)).one()
    _check_cash(db, project.id, from_fen(total), on)
    first = tuple(db.execute(select(Claim.id, Claim.claim_number, Claim.member_id,
                                    Claim.approved - Claim.paid).where(*scope.paid)
                             .order_by(Claim.id).limit(shown)).all())
    return Preview(project.code, on, count, members, from_fen(total), first, scope.refused)


def _hold(db: Session, payable: list, project_code: str) -> list[int]:
    """The payable claims' ids, locked for this batch on PostgreSQL.

    NOWAIT: a batch that finds them held by another batch (or a handler's decision) is
    refused at once with a Conflict, rather than waiting and paying nothing. On SQLite,
    where writers queue, the check after the insert catches the same race.
    """
    try:
        return list(db.scalars(select(Claim.id).where(*payable).order_by(Claim.id)
                               .with_for_update(nowait=True)))
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise Conflict("another payment batch for %(project)s is running, or a handler is "
                       "changing one of its claims; run again when it has finished",
                       project=project_code) from None


def _open_batch(db: Session, project, on: date, actor: Principal) -> PaymentBatch:
    """The batch row, keyed by project, date and sequence; a rival with the same key loses."""
    project_id, code = project.id, project.code  # read now: a failed flush expires the row
    seq = db.scalar(select(func.count()).select_from(PaymentBatch).where(
        PaymentBatch.project_id == project_id, PaymentBatch.paid_on == on)) + 1
    batch = PaymentBatch(batch_key=f"{code}:{on:%Y%m%d}:{seq}", project_id=project_id,
                         paid_on=on, created_by=actor.user_id)
    db.add(batch)
    try:
        db.flush()
    except IntegrityError:
        # another batch for the project committed first; this one stores nothing
        raise Conflict("another payment batch for %(project)s ran at the same time; run "
                       "again to pay what is left", project=code) from None
    return batch


def above_ceiling(db: Session, *, claim_ids: list[int]) -> list[Refusal]:
    """Items of these claims approved above what their benefit can still pay (defence in
    depth: decisions are capped when they are taken; this catches what slipped past).

    Set-based: the claims' items and every item of their policies' other claims in one
    query, their covers in bulk, then the pure rule claim by claim.
    """
    claims = {c.id: c for c in db.execute(
        select(Claim.id, Claim.claim_number, Claim.policy_id, Claim.event_date,
               Claim.event_type).where(Claim.id.in_(claim_ids)))}
    policy_ids = sorted({c.policy_id for c in claims.values()})
    items_by_policy: dict[int, list] = defaultdict(list)
    for row in db.execute(select(*ClaimItem.__table__.c, Claim.policy_id, Claim.event_date)
                          .join(Claim, Claim.id == ClaimItem.claim_id)
                          .where(Claim.policy_id.in_(policy_ids))
                          .order_by(ClaimItem.claim_id, ClaimItem.position)):
        items_by_policy[row.policy_id].append(row)
    covers = policy_cover.covers_at(db, pairs={(c.policy_id, c.event_date)
                                               for c in claims.values()})
    refused = []
    for c in claims.values():
        on_policy = items_by_policy[c.policy_id]
        own = [i for i in on_policy if i.claim_id == c.id]
        prior = [inputs.prior_item(i, i.event_date) for i in on_policy if i.claim_id != c.id]
        facts = rules.ClaimFacts(event_date=c.event_date, event_type=c.event_type,
                                 items=tuple(inputs.item_facts(i) for i in own))
        terms = inputs.policy_terms(covers[(c.policy_id, c.event_date)])
        caps = ceilings.ceilings(terms, facts, [i.approved for i in own], prior)
        refused += [Refusal(claim_id=c.id, claim_number=c.claim_number, item_id=i.id,
                            benefit_code=i.benefit_code, approved=i.approved, ceiling=cap)
                    for i, cap in zip(own, caps, strict=True) if i.approved > cap]
    return refused


def _record_refusals(db: Session, actor: Principal, project_id: int,
                     refused: list[Refusal]) -> None:
    audit.record_many(db, actor=actor, action="claim.payment_refused", entity="claim", rows=[
        (r.claim_id, project_id, {"item_id": r.item_id, "approved": str(r.approved),
                                  "ceiling": str(r.ceiling)}) for r in refused])


def _check_payable(db: Session, project_id: int, claim_ids: list[int], payable) -> None:
    ok = set(db.scalars(select(Claim.id).where(*payable, Claim.id.in_(claim_ids))))
    problems = [Problem("claim_ids", "claim %(claim)s is not approved and unpaid in this "
                                     "project", claim=cid)
                for cid in claim_ids if cid not in ok]
    if problems:
        raise ValidationFailed(problems)


def _refresh(db: Session) -> None:
    """Claims already loaded in the session must not keep their pre-payment state."""
    for obj in list(db.identity_map.values()):
        if isinstance(obj, Claim):
            db.expire(obj)

