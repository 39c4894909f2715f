"""Four eyes on large overrides (四眼原则): a second handler approves or rejects them.

A handler's override that approves more than the engine by more than the configured limit
is stored as a request (:class:`OverrideRequest`) instead of a decision. The claim stays
open, with its case reserve, until a different staff user of the claims team (or an
administrator) approves it, which records the decision with both names, or rejects it,
which leaves the claim open for a new decision. Every step is audited. The amounts are
checked again at approval, against the claim and the policy as they then stand.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.claims import workflow
from mutua.claims.models import APPROVED, PENDING, REJECTED, Claim, OverrideRequest
from mutua.claims.schemas import DecisionIn, ItemOverride
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.errors import Conflict, Forbidden, ValidationFailed

APPROVERS = frozenset({Role.CLAIMS, Role.ADMIN})
MIN_NOTE_CHARS = 5


def request(db: Session, *, claim: Claim, data: DecisionIn, plan, actor: Principal,
            on: date) -> OverrideRequest:
    """Store the handler's override to wait for a second approver (nothing is decided)."""
    row = OverrideRequest(
        claim_id=claim.id, project_id=claim.project_id, requested_by=actor.user_id,
        requested_by_name=actor.username, requested_on=on,
        items=[{"item_id": i.id, "approved": str(a)}
               for i, a, e in zip(plan.items, plan.approved, plan.engine.items, strict=True)
               if a != e.approved],
        circumstances=data.circumstances, reason=plan.reason,
        documents_reason=plan.documents_reason,
        engine_amount=plan.engine.approved, approved=plan.total,
        above_engine=plan.above_engine, status=PENDING)
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="claim.override.request", entity="claim",
                 entity_id=claim.id, project_id=claim.project_id,
                 detail={"request_id": row.id, "approved": str(row.approved),
                         "engine_amount": str(row.engine_amount),
                         "above_engine": str(row.above_engine)})
    return row


def pending_for(db: Session, *, claim_id: int) -> OverrideRequest | None:
    return db.scalar(select(OverrideRequest).where(OverrideRequest.claim_id == claim_id,
                                                   OverrideRequest.status == PENDING))


def pending_counts(db: Session) -> dict[int, int]:
    """Overrides awaiting a second approver, per project (for the queue)."""
    rows = db.execute(select(OverrideRequest.project_id, func.count(OverrideRequest.id))
                      .where(OverrideRequest.status == PENDING)
                      .group_by(OverrideRequest.project_id)).all()
    return {pid: int(n) for pid, n in rows}


def history(db: Session, *, claim_id: int) -> list[OverrideRequest]:
    return list(db.scalars(select(OverrideRequest).where(OverrideRequest.claim_id == claim_id)
                           .order_by(OverrideRequest.id)))


def approve(db: Session, *, claim_id: int, actor: Principal, note: str = "",
            on: date | None = None) -> Claim:
    """The second handler approves: the decision is recorded with both names."""
    on = on or shanghai_today()
    claim, row = _open_request(db, claim_id, actor)
    if actor.user_id == 0:
        raise Forbidden("a second approver signs in as themselves; the system cannot approve")
    if actor.user_id == row.requested_by:
        raise Forbidden("the handler who asked for the override cannot also approve it")
    row.status = APPROVED  # before the check below, which refuses a pending request
    workflow.check_decidable(db, claim, on)
    data = DecisionIn(items=[ItemOverride(**i) for i in row.items],
                      circumstances=row.circumstances, reason=row.reason,
                      documents_reason=row.documents_reason)
    if data.circumstances is not None:
        claim.circumstances = sorted({c.strip() for c in data.circumstances if c.strip()})
    requester = Principal(user_id=row.requested_by, username=row.requested_by_name,
                          role=Role.CLAIMS)
    plan = workflow.plan_decision(db, claim=claim, data=data, actor=actor)
    _answer(row, actor, note)
    audit.record(db, actor=actor, action="claim.override.approve", entity="claim",
                 entity_id=claim.id, project_id=claim.project_id,
                 detail={"request_id": row.id, "requested_by": row.requested_by_name,
                         "approved": str(plan.total), "note": row.answer_note})
    return workflow.record_decision(db, claim=claim, plan=plan, actor=requester, on=on,
                                    second_approver=actor)


def reject(db: Session, *, claim_id: int, actor: Principal, note: str) -> Claim:
    """Turn the override down (or, by the handler who asked, withdraw it); the claim stays
    open for a new decision."""
    claim, row = _open_request(db, claim_id, actor)
    note = (note or "").strip()
    if len(note) < MIN_NOTE_CHARS:
        raise ValidationFailed("note", "say why the override is turned down")
    row.status = REJECTED
    _answer(row, actor, note)
    audit.record(db, actor=actor, action="claim.override.reject", entity="claim",
                 entity_id=claim.id, project_id=claim.project_id,
                 detail={"request_id": row.id, "requested_by": row.requested_by_name,
                         "note": row.answer_note})
    return claim


def _open_request(db: Session, claim_id: int, actor: Principal):
    if actor.is_member or actor.role not in APPROVERS:
        raise Forbidden("only the claims team may answer an override request")
    claim = workflow.load_claim(db, claim_id, actor, lock=True)
    row = db.scalar(select(OverrideRequest).where(
        OverrideRequest.claim_id == claim.id, OverrideRequest.status == PENDING)
        .with_for_update())
    if row is None:
        raise Conflict("no override of claim %(claim)s awaits approval", claim=claim.claim_number)
    return claim, row


def _answer(row: OverrideRequest, actor: Principal, note: str) -> None:
    row.answered_by, row.answered_by_name = actor.user_id, actor.username
    row.answered_at, row.answer_note = utcnow(), (note or "").strip()[:2000]
