"""The life of a claim: reported -> under_review -> decided -> paid -> closed (+ reopened).

Each step runs inside the caller's transaction, writes the claim's append-only rows
(reserve movements, decisions), posts balanced entries to the project's books and records
an audit event. The rules themselves live in :mod:`mutua.claims.adjudication`; the first
notice (the report) in :mod:`mutua.claims.first_notice`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog import claim_documents
from mutua.claims import adjudication as rules
from mutua.claims import approvals, books, ceilings
from mutua.claims.inputs import engine_inputs, items_of, run_engine
from mutua.claims.models import (
    CLOSED,
    DECIDED,
    DECISION_DAYS,
    OPEN_STATES,
    PAID,
    REOPENED,
    REPORTED,
    UNDER_REVIEW,
    CaseReserveMovement,
    Claim,
    ClaimDecision,
    ClaimDocument,
    ClaimItem,
)
from mutua.claims.schemas import DecisionIn, ItemOverride
from mutua.dates import today as shanghai_today
from mutua.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from mutua.hooks import Hook
from mutua.ledger import service as ledger_service
from mutua.money import ZERO, non_negative_money, round_fen
from mutua.notify import service as notify
from mutua.policies import service as policies_service
from mutua.settings import Settings, get_settings

# A decision changed what the claim approves: the treaties' recoveries are booked in the
# decision's transaction (reinsurance.service.on_decision, joined in mutua/wiring.py).
approved_changed = Hook("a claim's approved amount changes")

HANDLER_OVERRIDE = "HANDLER_OVERRIDE"
MIN_REASON_CHARS = 5


def due_on(reported_on: date) -> date:
    """The day a decision is due for a claim reported on ``reported_on``, before any wait
    for documents (PRC Insurance Law art. 23: 30 days; see :mod:`mutua.claims.handling`).

    >>> due_on(date(2026, 1, 31))
    datetime.date(2026, 3, 2)
    """
    return reported_on + timedelta(days=DECISION_DAYS)



# --- case reserve ---------------------------------------------------------------------------

def _move_reserve(db: Session, *, claim: Claim, target: Decimal, on: date,
                  why: str) -> CaseReserveMovement | None:
    """Bring the claim's case reserve to ``target``: one movement row and one entry."""
    change = round_fen(target - claim.case_reserve)
    if change == 0:
        return None
    movement = CaseReserveMovement(claim_id=claim.id, project_id=claim.project_id, moved_on=on,
                                   amount=change, reason=why)
    db.add(movement)
    db.flush()
    ledger_service.post(db, books.reserve_entry(
        project_id=claim.project_id, claim_id=claim.id, claim_number=claim.claim_number,
        movement_id=movement.id, on=on, change=change, why=why))
    claim.case_reserve = round_fen(target)
    return movement


def set_reserve(db: Session, *, claim_id: int, amount: object, actor: Principal,
                reason: str = "", on: date | None = None) -> Claim:
    """A handler's revised estimate of what an open claim will cost."""
    claim = load_claim(db, claim_id, actor, lock=True)
    if claim.status not in OPEN_STATES:
        raise Conflict("claim %(claim)s is %(status)s: it carries no reserve",
                       claim=claim.claim_number, status=claim.status)
    target = non_negative_money(amount, field="amount")
    movement = _move_reserve(db, claim=claim, target=target, on=on or shanghai_today(),
                             why="revised")
    # The handler's reason is kept in the audit event beside the movement it explains
    # (read back by service.reserve_history).
    detail = {"case_reserve": str(target)}
    if movement is not None:
        detail["movement_id"] = movement.id
    if (reason or "").strip():
        detail["reason"] = reason.strip()[:500]
    audit.record(db, actor=actor, action="claim.reserve", entity="claim", entity_id=claim.id,
                 project_id=claim.project_id, detail=detail)
    return claim


# --- review and decision --------------------------------------------------------------------

def load_claim(db: Session, claim_id: int, actor: Principal, *, lock: bool = False) -> Claim:
    stmt = select(Claim).where(Claim.id == claim_id)
    if lock:
        stmt = stmt.with_for_update()
    claim = db.scalar(stmt)
    if claim is None or (actor.is_member and not policies_service.acts_for(
            db, actor=actor, member_id=claim.member_id)):  # own, or a dependant's they pay for
        raise NotFound("claim %(claim_id)s not found", claim_id=claim_id)
    return claim


def review(db: Session, *, claim_id: int, actor: Principal) -> Claim:
    """A handler takes a reported claim into review (审核)."""
    claim = load_claim(db, claim_id, actor, lock=True)
    if claim.status != REPORTED:
        raise Conflict("claim %(claim)s is %(status)s, not reported",
                       claim=claim.claim_number, status=claim.status)
    claim.status = UNDER_REVIEW
    audit.record(db, actor=actor, action="claim.review", entity="claim", entity_id=claim.id,
                 project_id=claim.project_id)
    return claim


@dataclass(frozen=True)
class Plan:
    """A decision worked out and checked, before anything of it is written."""

    items: list[ClaimItem]
    engine: rules.Decision
    approved: list[Decimal]
    days: list[int]  # days of a daily allowance each amount pays for
    reason: str
    round: int
    documents_missing: tuple[str, ...] = ()  # required documents the claim lacks
    documents_reason: str = ""  # why it is decided without them

    @property
    def total(self) -> Decimal:
        return sum(self.approved, ZERO)

    @property
    def overridden(self) -> bool:
        return any(a != e.approved for a, e in zip(self.approved, self.engine.items, strict=True))

    @property
    def above_engine(self) -> Decimal:
        """How far the handler's amounts go above the engine's, item by item (a cut on one
        item does not buy a rise on another)."""
        return sum((max(ZERO, a - e.approved)
                    for a, e in zip(self.approved, self.engine.items, strict=True)), ZERO)


def decide(db: Session, *, claim_id: int, actor: Principal, data: DecisionIn,
           on: date | None = None, auto: bool = False,
           settings: Settings | None = None) -> Claim:
    """Decide an open claim (核定): the engine's amounts unless the handler overrides.

    An override, and any answer to an appeal, needs a written reason; it is stored with
    the decision and the decision is audited. No amount may exceed what its benefit can
    still pay on the policy (:func:`ceilings.ceilings`). An override above the engine by more
    than the four-eyes limit (settings.override_second_approval_yuan) is not decided yet:
    it waits for a second handler (:mod:`mutua.claims.approvals`) and the claim stays open.
    Otherwise the case reserve is released and the approved amount (or, on appeal, its
    change) goes into claims payable.
    """
    on = on or shanghai_today()
    claim = load_claim(db, claim_id, actor, lock=True)
    check_decidable(db, claim, on)
    if data.circumstances is not None:
        claim.circumstances = sorted({c.strip() for c in data.circumstances if c.strip()})
    plan = plan_decision(db, claim=claim, data=data, actor=actor, auto=auto)
    limit = Decimal((settings or get_settings()).override_second_approval_yuan)
    if not auto and plan.above_engine > limit:
        approvals.request(db, claim=claim, data=data, plan=plan, actor=actor, on=on)
        return claim
    return record_decision(db, claim=claim, plan=plan, actor=actor, on=on, auto=auto)


def decline(db: Session, *, claim_id: int, actor: Principal, reason: str,
            on: date | None = None, settings: Settings | None = None) -> Claim:
    """Decline an open claim (拒赔) with a written reason the member reads on their claim.

    A decision like any other (round, reserve release, audit), with every item at nothing;
    the engine's amounts stay on the items for the record. No documents are needed to
    decline, and no second approver: nothing is paid.
    """
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ValidationFailed("reason", "a written reason is required to decline a claim")
    load_claim(db, claim_id, actor)  # NotFound before anything else
    data = DecisionIn(items=[ItemOverride(item_id=i.id, approved=ZERO)
                             for i in items_of(db, claim_id)], reason=reason)
    claim = decide(db, claim_id=claim_id, actor=actor, data=data, on=on, settings=settings)
    audit.record(db, actor=actor, action="claim.decline", entity="claim", entity_id=claim.id,
                 project_id=claim.project_id, detail={"reason": reason})
    return claim


def check_decidable(db: Session, claim: Claim, on: date) -> None:
    if claim.status not in OPEN_STATES:
        raise Conflict("claim %(claim)s is already %(status)s", claim=claim.claim_number, status=claim.status)
    if on < claim.reported_on:
        raise ValidationFailed("on", "must not be before the report on %(day)s", day=claim.reported_on)
    pending = approvals.pending_for(db, claim_id=claim.id)
    if pending is not None:
        raise Conflict("claim %(claim)s has an override awaiting a second approver; approve "
                       "or reject it first", claim=claim.claim_number)


def plan_decision(db: Session, *, claim: Claim, data: DecisionIn, actor: Principal,
                  auto: bool = False) -> Plan:
    """Run the engine, apply the handler's amounts and check them; nothing is written.

    A handler approves money only when the documents the claim's benefits require
    (:mod:`mutua.catalog.claim_documents`) are on file, or says in ``documents_reason`` why
    the claim is decided without them. Automatic decisions of small, simple claims at
    first notice are exempt: they are the fast lane the auto-decide limit defines.
    """
    items = items_of(db, claim.id)
    terms, facts, prior = engine_inputs(db, claim=claim, items=items, actor=actor)
    engine = rules.adjudicate(terms, facts, prior)
    approved = _approved_amounts(items, engine, data)
    _check_ceilings(items, approved, data, ceilings.ceilings(terms, facts, approved, prior))
    days = [d.days_paid if a == d.approved else _days_bought(terms, i, a)
            for i, d, a in zip(items, engine.items, approved, strict=True)]
    plan = Plan(items, engine, approved, days, (data.reason or "").strip(),
                claim.decision_round + 1, documents_missing(db, claim_id=claim.id, items=items),
                (data.documents_reason or "").strip())
    if plan.overridden and len(plan.reason) < MIN_REASON_CHARS:
        raise ValidationFailed("reason", "a written reason is required to override the engine")
    if plan.round > 1 and len(plan.reason) < MIN_REASON_CHARS:
        raise ValidationFailed("reason", "a written reason is required to answer an appeal")
    if plan.total < claim.paid:
        raise ValidationFailed("items", "cannot approve less than the %(paid)s already paid", paid=claim.paid)
    if (not auto and plan.total > 0 and plan.documents_missing
            and len(plan.documents_reason) < MIN_REASON_CHARS):
        raise ValidationFailed("documents_reason", "required documents are missing "
                                                   "(%(documents)s): attach them, or say why "
                                                   "the claim is approved without them",
                                                   documents=", ".join(plan.documents_missing))
    return plan


def documents_missing(db: Session, *, claim_id: int, items: list[ClaimItem]) -> tuple[str, ...]:
    """The documents the claim's benefits require that are not on file."""
    uploaded = db.scalars(select(ClaimDocument.kind).where(ClaimDocument.claim_id == claim_id))
    return claim_documents.missing([i.kind for i in items], uploaded)


def record_decision(db: Session, *, claim: Claim, plan: Plan, actor: Principal, on: date,
                    auto: bool = False, second_approver: Principal | None = None) -> Claim:
    """Write the decision: items, decision row, reserve release, claims payable, audit.

    ``actor`` is the handler who decided; ``second_approver`` the one who approved a large
    override (four eyes).
    """
    engine, approved, total = plan.engine, plan.approved, plan.total
    outcome = rules.outcome(approved, engine.items)
    for item, d, amount, days in zip(plan.items, engine.items, approved, plan.days, strict=True):
        item.engine_amount, item.engine_reasons = d.approved, list(d.reasons)
        item.approved, item.days_paid = amount, days
        item.reasons = list(d.reasons) + ([HANDLER_OVERRIDE] if amount != d.approved else [])
        item.uncovered_loss = max(ZERO, d.loss - amount)
    uncovered = sum((i.uncovered_loss for i in plan.items), ZERO)
    change = total - claim.approved
    decision = ClaimDecision(
        claim_id=claim.id, project_id=claim.project_id, round=plan.round, decided_on=on,
        decided_by=actor.user_id, outcome=outcome, engine_outcome=engine.outcome,
        engine_amount=engine.approved, approved=total, approved_change=change,
        uncovered_loss=uncovered, auto=auto, overridden=plan.overridden, reason=plan.reason,
        documents_reason=plan.documents_reason if plan.documents_missing and total else "",
        second_approver=second_approver.user_id if second_approver else None)
    db.add(decision)
    _move_reserve(db, claim=claim, target=ZERO, on=on, why="decided")
    if change != 0:
        ledger_service.post(db, books.decision_entry(
            project_id=claim.project_id, claim_id=claim.id, claim_number=claim.claim_number,
            round_=plan.round, on=on, change=change))
    claim.decision_round, claim.outcome, claim.decided_on = plan.round, outcome, on
    claim.approved, claim.uncovered_loss = total, uncovered
    if change != 0:  # a loss above a treaty's retention books its recovery now
        approved_changed(db, claim=claim, round_=plan.round, on=on)
    claim.status = PAID if (total == claim.paid and total > 0) else DECIDED
    db.flush()
    detail = {"round": plan.round, "outcome": outcome, "approved": str(total),
              "engine_amount": str(engine.approved), "overridden": plan.overridden,
              "auto": auto, "decision_id": decision.id}
    if plan.documents_missing and total:
        detail |= {"documents_missing": list(plan.documents_missing),
                   "documents_reason": decision.documents_reason}
    if second_approver is not None:
        detail |= {"decided_by": actor.username, "second_approver": second_approver.username}
    audit.record(db, actor=second_approver or actor, action="claim.decide", entity="claim",
                 entity_id=claim.id, project_id=claim.project_id, detail=detail)

    notify.tell(db, member_id=claim.member_id, project_id=claim.project_id,
                event="claim.decided", ref_id=claim.id, ref_text=claim.claim_number, amount=total)
    return claim


def _approved_amounts(items: list[ClaimItem], engine: rules.Decision,
                      data: DecisionIn) -> list[Decimal]:
    by_id = {i.id: n for n, i in enumerate(items)}
    amounts = [d.approved for d in engine.items]
    problems: list[Problem] = []
    for k, o in enumerate(data.items):
        f = f"items[{k}]"
        if o.item_id not in by_id:
            problems.append(Problem(f"{f}.item_id", "%(item)s is not an item of this claim", item=o.item_id))
            continue
        try:
            amounts[by_id[o.item_id]] = non_negative_money(o.approved, field=f"{f}.approved")
        except ValidationFailed as exc:
            problems += exc.problems
    if problems:
        raise ValidationFailed(problems)
    return amounts


def _check_ceilings(items: list[ClaimItem], approved: list[Decimal], data: DecisionIn,
                    caps: tuple[Decimal, ...]) -> None:
    """Every amount within what its benefit can still pay; the field names the override."""
    asked = {o.item_id: k for k, o in enumerate(data.items)}
    problems = [Problem(f"items[{asked.get(item.id, n)}].approved",
                        "must not exceed %(ceiling)s for this item", ceiling=cap)
                for n, (item, amount, cap) in enumerate(zip(items, approved, caps, strict=True))
                if amount > cap]
    if problems:
        raise ValidationFailed(problems)


def _days_bought(terms: rules.PolicyTerms, item: ClaimItem, amount: Decimal) -> int:
    """The days an overridden daily allowance pays for (other kinds count no days)."""
    benefit = terms.benefit(item.benefit_code)
    if item.kind not in rules.DAILY_KINDS or benefit is None:
        return 0
    return ceilings.days_bought(amount, benefit.daily_amount, item.hospital_days or 0)


# --- appeal and closing ---------------------------------------------------------------------

def appeal(db: Session, *, claim_id: int, actor: Principal, reason: str,
           on: date | None = None) -> Claim:
    """The member asks once for the decision to be looked at again (申诉); it reopens."""
    on = on or shanghai_today()
    claim = load_claim(db, claim_id, actor, lock=True)
    if not actor.is_member and actor.role not in (Role.ADMIN, Role.CLAIMS):
        raise Forbidden("only the member or the claims team may appeal")
    if claim.status not in (DECIDED, PAID, CLOSED):
        raise Conflict("claim %(claim)s is %(status)s: nothing to appeal yet",
                       claim=claim.claim_number, status=claim.status)
    if claim.appeals >= 1:
        raise Conflict("a claim may be appealed once")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ValidationFailed("reason", "say why the decision should be looked at again")
    claim.status, claim.appeals, claim.appeal_reason = REOPENED, claim.appeals + 1, reason
    claim.closed_on = None
    engine = run_engine(db, claim=claim, items=items_of(db, claim.id), actor=actor)
    _move_reserve(db, claim=claim, target=max(ZERO, engine.approved - claim.approved), on=on,
                  why="appeal")
    audit.record(db, actor=actor, action="claim.appeal", entity="claim", entity_id=claim.id,
                 project_id=claim.project_id)
    return claim


def close(db: Session, *, claim_id: int, actor: Principal, on: date | None = None) -> Claim:
    """Close a claim with nothing left to pay: paid in full, or denied."""
    claim = load_claim(db, claim_id, actor, lock=True)
    if claim.status not in (PAID, DECIDED) or claim.approved != claim.paid:
        raise Conflict("claim %(claim)s is %(status)s with %(amount)s still to pay: it cannot "
                       "close",
                       claim=claim.claim_number, status=claim.status, amount=claim.approved - claim.paid)
    claim.status, claim.closed_on = CLOSED, on or shanghai_today()
    audit.record(db, actor=actor, action="claim.close", entity="claim", entity_id=claim.id,
                 project_id=claim.project_id)
    return claim
