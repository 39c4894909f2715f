"""The first notice of a claim (报案): the report checked against the policy's terms and its
documents, a second report of the same event refused, the first case reserve set, and a
simple claim under the automatic-decision limit decided at once.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua import numbering
from mutua.audit import service as audit
from mutua.auth.security import SYSTEM, Principal
from mutua.claims import adjudication as rules
from mutua.claims import timeline
from mutua.claims.inputs import policy_terms, run_engine
from mutua.claims.models import REPORTED, Claim, ClaimItem
from mutua.claims.schemas import ClaimIn, DecisionIn
from mutua.claims.workflow import MIN_REASON_CHARS, _move_reserve, decide, due_on
from mutua.dates import SHANGHAI
from mutua.dates import today as shanghai_today
from mutua.errors import Conflict, Problem, ValidationFailed
from mutua.money import to_money
from mutua.notify import service as notify
from mutua.policies import cover as policy_cover
from mutua.policies import service as policies_service
from mutua.settings import Settings, get_settings


def report(db: Session, *, data: ClaimIn, actor: Principal, on: date | None = None,
           settings: Settings | None = None) -> Claim:
    """First notice of loss (报案): check, store, set the case reserve, maybe auto-decide.

    A member files against their own policy only; staff file on a member's behalf.
    """
    on = on or shanghai_today()
    policy = policies_service.get(db, policy_id=data.policy_id, actor=actor)  # 404 if not own
    policy_cover.check_covers_claims(policy)  # unpaid or lapsed: refused, saying so
    cover = policy_cover.cover_on(db, policy_id=policy.id, on=data.event_date)
    terms = policy_terms(cover)
    _check_report(data, terms, on)
    duplicate_of = _check_same_event(db, data, actor)

    number = numbering.reserve_now(db, "claim")[0]  # not held until the report commits
    claim = Claim(
        claim_number=f"CL{number:09d}", project_id=cover.project_id, policy_id=policy.id,
        member_id=cover.member_id, event_type=data.event_type, event_date=data.event_date,
        event_at=data.event_at, place=data.place, description=data.description,
        occupation_class_at_event=data.occupation_class_at_event, circumstances=[],
        status=REPORTED, reported_on=on, reported_by=actor.user_id, decision_due_on=due_on(on),
        duplicate_of=duplicate_of.id if duplicate_of else None,
        duplicate_reason=(data.duplicate_reason or "").strip() if duplicate_of else None)
    db.add(claim)
    db.flush()
    items = [ClaimItem(
        claim_id=claim.id, project_id=claim.project_id, position=n,
        benefit_id=terms.benefit(i.benefit_code).benefit_id, benefit_code=i.benefit_code,
        kind=terms.benefit(i.benefit_code).kind, claimed_amount=i.claimed_amount,
        disability_grade=i.disability_grade, invoice_amount=i.invoice_amount,
        social_insurance_paid=i.social_insurance_paid, other_insurance_paid=i.other_insurance_paid,
        has_social_insurance=i.has_social_insurance, hospital_days=i.hospital_days,
        symptoms_began_at=i.symptoms_began_at, died_at=i.died_at)
        for n, i in enumerate(_money_items(data))]
    db.add_all(items)
    db.flush()

    decision = run_engine(db, claim=claim, items=items, actor=actor)
    for item, d in zip(items, decision.items, strict=True):
        item.engine_amount, item.engine_reasons = d.approved, list(d.reasons)
    audit.record(db, actor=actor, action="claim.report", entity="claim", entity_id=claim.id,
                 project_id=claim.project_id,
                 detail={"event_type": claim.event_type, "items": len(items),
                         "engine_outcome": decision.outcome,
                         "duplicate_of": claim.duplicate_of})
    # in this transaction: told only if stored
    notify.tell(db, member_id=claim.member_id, project_id=claim.project_id,
                event="claim.reported", ref_id=claim.id, ref_text=claim.claim_number)
    _move_reserve(db, claim=claim, target=decision.approved, on=on, why="reported")
    settings = settings or get_settings()
    if _simple(decision, items, Decimal(settings.auto_decide_limit_yuan)):
        decide(db, claim_id=claim.id, actor=SYSTEM, data=DecisionIn(), on=on, auto=True,
               settings=settings)
    db.flush()
    return claim


class DuplicateReport(Conflict):
    """A report of an event already reported: same policy, event date and event type.

    The answer names the existing claim so the member can follow it there.
    """

    code = "duplicate_report"

    def __init__(self, existing: Claim):
        super().__init__(f"claim {existing.claim_number} already reports this event (same "
                         "policy, date and type)")
        self.claim_id, self.claim_number = existing.id, existing.claim_number

    def to_dict(self) -> dict:
        return super().to_dict() | {"claim_id": self.claim_id, "claim_number": self.claim_number}


def same_event(db: Session, *, policy_id: int, event_date: date, event_type: str) -> Claim | None:
    """The first claim already reporting this event on the policy, if any."""
    return db.scalar(select(Claim).where(
        Claim.policy_id == policy_id, Claim.event_date == event_date,
        Claim.event_type == event_type).order_by(Claim.id).limit(1))


def _check_same_event(db: Session, data: ClaimIn, actor: Principal) -> Claim | None:
    """A second report of one event is refused, naming the first; staff may still record a
    genuine second event (two accidents on one day) by saying why in duplicate_reason."""
    existing = same_event(db, policy_id=data.policy_id, event_date=data.event_date,
                          event_type=data.event_type)
    if existing is None:
        return None
    reason = (data.duplicate_reason or "").strip()
    if actor.is_member or len(reason) < MIN_REASON_CHARS:
        raise DuplicateReport(existing)
    return existing


def _money_items(data: ClaimIn):
    """Amounts rounded to the fen once, here, before anything else reads them."""
    for n, i in enumerate(data.items):
        f = f"items[{n}]"
        yield i.model_copy(update={
            "claimed_amount": None if i.claimed_amount is None
            else to_money(i.claimed_amount, field=f"{f}.claimed_amount"),
            "invoice_amount": None if i.invoice_amount is None
            else to_money(i.invoice_amount, field=f"{f}.invoice_amount"),
            "social_insurance_paid": to_money(i.social_insurance_paid,
                                              field=f"{f}.social_insurance_paid"),
            "other_insurance_paid": to_money(i.other_insurance_paid,
                                             field=f"{f}.other_insurance_paid"),
        })


def _check_report(data: ClaimIn, terms: rules.PolicyTerms, on: date) -> None:
    """Every problem of a first notice at once: dates that cannot be true, then the items."""
    found = timeline.check_times(
        event_date=data.event_date, event_at=data.event_at,
        items=[timeline.ItemTimes(i.symptoms_began_at, i.died_at) for i in data.items],
        cover_start=terms.cover_start, cover_end=terms.cover_end, today=on,
        now=datetime.now(SHANGHAI))
    facts = rules.ClaimFacts(event_date=data.event_date, event_type=data.event_type, items=tuple(
        rules.ItemFacts(benefit_code=i.benefit_code, claimed_amount=i.claimed_amount,
                        disability_grade=i.disability_grade, invoice_amount=i.invoice_amount,
                        social_insurance_paid=i.social_insurance_paid,
                        other_insurance_paid=i.other_insurance_paid,
                        hospital_days=i.hospital_days, symptoms_began_at=i.symptoms_began_at,
                        died_at=i.died_at) for i in data.items))
    found += rules.check_claim(terms, facts)
    problems = [Problem(f, r) for f, r in dict.fromkeys(found)]  # one line per broken rule
    if problems:
        raise ValidationFailed(problems)


def _simple(decision: rules.Decision, items: list[ClaimItem], limit: Decimal) -> bool:
    """Decided without a handler: every rule passed, small, and no grading or death."""
    return (decision.outcome == rules.APPROVE and decision.approved <= limit
            and all(i.kind in rules.SIMPLE_KINDS for i in items))
