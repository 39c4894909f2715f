"""What a member may buy today (可投保产品): every product on sale, quoted for the member,
with the reasons it is not for them (age, occupation class, sale period, a kidney
product's underwriting on their own labs, a policy already held).

The page and the API list the same offers; enrolment itself checks the same rules again
(policies.service.enrol), whatever a page showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.models import Product, SalePeriod
from mutua.dates import today as shanghai_today
from mutua.errors import Problem, ValidationFailed, Worded
from mutua.members.models import Member
from mutua.policies import domain, underwriting
from mutua.policies import service as policies_service
from mutua.policies.models import Policy, PremiumDue

KIDNEY = "ckd"
NOT_YOURS = Worded("must be yourself or a dependant you pay for")
MUST_ACCEPT = Worded("must be ticked: you have read the terms, the exclusions and the waiting "
                     "period")


@dataclass(frozen=True)
class MemberOffer:
    product: Product
    period: SalePeriod
    offer: policies_service.Offer
    problems: tuple[Problem, ...]  # eligibility and underwriting; empty when eligible
    held: bool  # the member already holds this product for this period

    @property
    def eligible(self) -> bool:
        return not self.problems and not self.held

    @property
    def needs_lab_result(self) -> bool:
        """Refused only for want of a recent lab result: offered once one is on file."""
        return domain.needs_lab_result(self.problems)


def for_member(db: Session, *, member: Member, actor: Principal,
               on: date | None = None) -> list[MemberOffer]:
    """Every product on sale on ``on`` quoted for ``member``, eligible or not (with why).

    The member's own labs are read once (and the read audited) when a kidney product is on
    sale; a member with no recent labs sees kidney products as "needs a lab result".
    """
    on = on or shanghai_today()
    on_sale = catalog_service.open_for_sale(db, on=on)
    held = set(db.execute(select(Policy.product_id, Policy.period_id)
                          .where(Policy.member_id == member.id)).tuples())
    labs = _kidney_labs(db, member=member, actor=actor, on=on) \
        if any(p.line == KIDNEY for p, _ in on_sale) else None
    out = []
    for product, period in on_sale:
        offer = policies_service.quote(db, member=member, product=product, period=period, on=on)
        problems = list(offer.problems)
        if product.line == KIDNEY:
            problems += domain.kidney_problems(product.underwriting or {}, labs)
        out.append(MemberOffer(product, period, offer, tuple(problems),
                               (product.id, period.id) in held))
    return out


def _kidney_labs(db: Session, *, member: Member, actor: Principal, on: date):
    audit.record(db, actor=actor, action="health.read.underwriting", entity="patient",
                 entity_id=member.id, detail={"on": on.isoformat()})
    return underwriting.kidney_labs(db, member_id=member.id, on=on)


def confirm(db: Session, *, member_id: int, product_code: str, period_code: str,
            declaration: dict[str, str], accepted_terms: bool, actor: Principal,
            on: date | None = None, auto_renew: bool = False) -> tuple[Policy, bool]:
    """The member confirms an offer: an unpaid policy with its premium due (cover starts
    when it is paid), and whether it was made now.

    Confirming again (a refresh, a second tap, a client retrying) while that policy still
    awaits its premium answers with the same policy, so one is made; two confirms at the
    same moment meet the unique (member, product, period) key and the second is a Conflict.
    ``accepted_terms``: the member said they read the terms, exclusions and waiting period;
    ``auto_renew``: they agree to be renewed into the next period at its price when this one
    ends (policies.renewal_offers), which they can stop later on the policy page.
    """
    if not accepted_terms:
        raise ValidationFailed("accept_terms", MUST_ACCEPT)
    if actor.is_member and not policies_service.acts_for(db, actor=actor, member_id=member_id):
        raise ValidationFailed("insured_id", NOT_YOURS)
    product, period = catalog_service.product_and_period(db, product_code=product_code,
                                                         period_code=period_code)
    waiting = db.scalar(select(Policy).where(
        Policy.member_id == member_id, Policy.product_id == product.id,
        Policy.period_id == period.id, Policy.status == domain.UNPAID))
    if waiting is not None:
        return waiting, False
    policy = policies_service.enrol(db, member_id=member_id, product_code=product_code,
                                    period_code=period_code, actor=actor, on=on, paid=False,
                                    declaration=declaration, auto_renew=auto_renew)
    if actor.is_member and member_id != actor.member_id:
        # A dependant's premium is owed by the member who pays for them: it is their due
        # to see under My premiums and to pay online (premiums.checkout is the owner's).
        db.execute(update(PremiumDue).where(PremiumDue.policy_id == policy.id)
                   .values(member_id=actor.member_id))
    return policy, True
