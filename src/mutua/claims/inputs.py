"""What the adjudication engine is given for a stored claim: the policy's terms on the event
date, the claim's facts (with CKD progression evidence from the health record, audited), and
the policy's other items; and the engine run on them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import SYSTEM, Principal
from mutua.claims import adjudication as rules
from mutua.claims.models import Claim, ClaimItem
from mutua.health import underwriting as health_underwriting
from mutua.money import ZERO
from mutua.policies import cover as policy_cover


def policy_terms(cover) -> rules.PolicyTerms:
    """The policy's cover on the event date (policies.domain.PolicyCover) as rule inputs."""
    return rules.PolicyTerms(
        policy_id=cover.policy_id, status=cover.status, cover_start=cover.cover_start,
        cover_end=cover.cover_end, occupation_class=cover.occupation_class,
        waiting_days=0,  # each benefit carries its own (the product's unless overridden)
        exclusions=frozenset(cover.exclusions),
        covered_classes=frozenset(cover.allowed_classes) if cover.allowed_classes else None,
        benefits=tuple(rules.BenefitTerms(
            benefit_id=b.benefit_id, code=b.code, kind=b.kind, sum_insured=b.sum_insured,
            deductible=b.deductible or ZERO,
            coinsurance_with_social=b.coinsurance_with_social,
            coinsurance_without_social=b.coinsurance_without_social,
            daily_amount=b.daily_amount, max_days=b.max_days,
            shares_sum_insured_with=b.shares_sum_insured_with, waiting_days=b.waiting_days,
        ) for b in cover.benefits),
    )


def item_facts(item, *, verified: bool | None = None) -> rules.ItemFacts:
    """A stored item (an ORM row or a Core row with its columns) as the engine's ItemFacts."""
    return rules.ItemFacts(
        benefit_code=item.benefit_code, claimed_amount=item.claimed_amount,
        disability_grade=item.disability_grade, invoice_amount=item.invoice_amount,
        social_insurance_paid=item.social_insurance_paid or ZERO,
        other_insurance_paid=item.other_insurance_paid or ZERO,
        has_social_insurance=bool(item.has_social_insurance), hospital_days=item.hospital_days,
        symptoms_began_at=item.symptoms_began_at, died_at=item.died_at,
        progression_verified=verified)


def prior_items(db: Session, *, policy_id: int, exclude_claim_id: int | None) -> list[
        rules.PriorItem]:
    """Every item of the policy's other claims: paid or approved amounts, and open ones for
    duplicate checks (approved is 0 until they are decided)."""
    rows = db.execute(
        select(ClaimItem, Claim.event_date).join(Claim, Claim.id == ClaimItem.claim_id)
        .where(Claim.policy_id == policy_id, Claim.id != (exclude_claim_id or 0))
    ).all()
    return [prior_item(i, ev) for i, ev in rows]


def prior_item(item, event_date: date) -> rules.PriorItem:
    """A stored item (an ORM row or a Core row with its columns) as the engine's PriorItem."""
    return rules.PriorItem(benefit_code=item.benefit_code, event_date=event_date,
                           approved=item.approved, invoice_amount=item.invoice_amount,
                           disability_grade=item.disability_grade, days_paid=item.days_paid,
                           hospital_days=item.hospital_days)


def progression_evidence(db: Session, *, member_id: int, on: date) -> tuple[bool, str]:
    """Whether the health record confirms CKD progression by ``on`` (KDIGO 2012).

    The kidney-monitoring records (health, a package below claims) answer it.
    """
    evidence = health_underwriting.confirmed_progression(db, member_id=member_id, on=on)
    return bool(evidence.confirmed), str(evidence.reason)


def engine_inputs(db: Session, *, claim: Claim, items: list[ClaimItem],
                  actor: Principal = SYSTEM) -> tuple[rules.PolicyTerms, rules.ClaimFacts,
                                                      list[rules.PriorItem]]:
    """The policy's terms on the event date, the claim's facts, and the policy's other items."""
    cover = policy_cover.cover_on(db, policy_id=claim.policy_id, on=claim.event_date)
    verified = None
    if any(i.kind == "ckd_progression" for i in items):
        verified, _ = progression_evidence(db, member_id=claim.member_id, on=claim.event_date)
        # reading a member's kidney results is a read of health data: audited
        audit.record(db, actor=actor, action="claim.progression_check", entity="claim",
                     entity_id=claim.id, project_id=claim.project_id,
                     detail={"verified": verified})
    facts = rules.ClaimFacts(
        event_date=claim.event_date, event_type=claim.event_type,
        items=tuple(item_facts(i, verified=verified) for i in items),
        occupation_class_at_event=claim.occupation_class_at_event,
        circumstances=frozenset(claim.circumstances or ()))
    prior = prior_items(db, policy_id=claim.policy_id, exclude_claim_id=claim.id)
    return policy_terms(cover), facts, prior


def run_engine(db: Session, *, claim: Claim, items: list[ClaimItem],
               actor: Principal = SYSTEM) -> rules.Decision:
    return rules.adjudicate(*engine_inputs(db, claim=claim, items=items, actor=actor))


def items_of(db: Session, claim_id: int) -> list[ClaimItem]:
    return list(db.scalars(select(ClaimItem).where(ClaimItem.claim_id == claim_id)
                           .order_by(ClaimItem.position)))
