"""HTTP routes under /api/v1/enrolment: buying cover as a member, as the portal does it.

    GET  /enrolment/offers   every product on sale, quoted for the member, with why not
    POST /enrolment/quote    one offer: price, sums insured, waiting periods, declaration
    POST /enrolment/confirm  the declaration answered, the terms accepted: an unpaid policy
                             and its premium due (pay it: POST /premiums/checkout)
    GET/POST /enrolment/dependants  the family members the member pays cover for; pass a
                             dependant's id as ``insured_id`` to buy cover for them

Confirming again while the policy awaits its premium answers with the same policy (200).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Response

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog.models import Project
from mutua.deps import DbSession, Router, allow, as_json
from mutua.errors import NotFound
from mutua.members import dependants
from mutua.members import service as members_service
from mutua.policies import dues, offers, views
from mutua.policies.domain import COOLING_OFF_DAYS, scaled_sum_insured
from mutua.policies.schemas import (
    BenefitTermsOut,
    ConfirmIn,
    ConfirmOut,
    DependantIn,
    DependantOut,
    DueOut,
    OfferOut,
    QuestionOut,
    QuoteIn,
)

router = Router(prefix="/enrolment", tags=["enrolment"])
Member = Annotated[Principal, Depends(allow(Role.MEMBER))]


def offer_out(o: offers.MemberOffer) -> OfferOut:
    coef = o.offer.coefficient if o.offer.coefficient is not None else 1
    product = o.product
    return OfferOut(
        product_code=product.code, period_code=o.period.code, name_zh=product.name_zh,
        name_en=product.name_en, premium=product.uniform_premium,
        cover_start=o.offer.cover_start, cover_end=o.offer.cover_end, age=o.offer.age,
        coefficient=o.offer.coefficient, eligible=o.eligible, held=o.held,
        needs_lab_result=o.needs_lab_result,
        problems=[{"field": p.field, "rule": p.rule} for p in o.problems],
        benefits=[BenefitTermsOut(
            code=b.code, name_zh=b.name_zh, name_en=b.name_en,
            sum_insured=scaled_sum_insured(b.base_sum_insured, coef),
            waiting_days=b.waiting_days if b.waiting_days is not None
            else product.waiting_days) for b in product.benefits],
        exclusions=list(product.exclusions), cooling_off_days=COOLING_OFF_DAYS,
        pay_within_days=product.grace_days,
        declaration=[QuestionOut(code=q["code"], zh=q["zh"], en=q["en"])
                     for q in (product.underwriting or {}).get("declaration") or []])


def _payer(db, actor: Principal):
    """The signed-in member (a staff login has no member record: 404)."""
    return members_service.get(db, member_id=actor.member_id, actor=actor)


def _offers(db, actor: Principal, insured_id: int | None) -> list[offers.MemberOffer]:
    """Offers for the member, or for a dependant they pay for (another's: 404)."""
    payer = _payer(db, actor)
    if insured_id is None or insured_id == payer.id:
        member = payer
    else:
        member = dependants.get(db, payer_id=actor.member_id, dependant_id=insured_id)
    return offers.for_member(db, member=member, actor=actor)


@router.get("/offers", response_model=list[OfferOut])
def list_offers(db: DbSession, actor: Member,
                insured_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
                ) -> list[OfferOut]:
    """Every product on sale today quoted for the signed-in member (or ``insured_id``, a
    dependant they pay for); ``eligible`` false with ``problems`` saying why (a kidney
    product needs a recent lab result: the ``needs_lab_result`` flag)."""
    return [offer_out(o) for o in _offers(db, actor, insured_id)]


@router.post("/quote", response_model=OfferOut)
def quote(body: QuoteIn, db: DbSession, actor: Member) -> OfferOut:
    """The terms of one product for the member, and the declaration it asks."""
    found = next((o for o in _offers(db, actor, body.insured_id) if o.product.code == body.product_code
                  and o.period.code == body.period_code), None)
    if found is None:
        raise NotFound("%(product_code)s is not on sale in period %(period_code)s",
                       product_code=body.product_code, period_code=body.period_code)
    return offer_out(found)


@router.post("/confirm", response_model=ConfirmOut, status_code=201)
def confirm(body: ConfirmIn, db: DbSession, actor: Member) -> Response:
    """Buy: an unpaid policy and its premium due; cover starts when the due is paid."""
    payer = _payer(db, actor)
    policy, created = offers.confirm(
        db, member_id=body.insured_id or payer.id, product_code=body.product_code,
        period_code=body.period_code, declaration=body.declaration,
        accepted_terms=body.accept_terms, auto_renew=body.auto_renew, actor=actor)
    owed = dues.find(db, project_id=policy.project_id, reference=policy.policy_number)
    project = db.get(Project, policy.project_id)
    out = ConfirmOut(policy=views.enrolled(db, policy) if created
                     else views.by_ids(db, [policy.id])[0],
                     due=DueOut(project=project.code, reference=owed.reference,
                                amount=owed.outstanding, pay_by=owed.grace_end))
    return as_json(out, status_code=201 if created else 200)


def dependant_out(d) -> DependantOut:
    return DependantOut(id=d.id, member_number=d.member_number, name=d.name,
                        relation=d.relation, birth_date=d.birth_date,
                        occupation_class=d.occupation_class)


@router.get("/dependants", response_model=list[DependantOut])
def list_dependants(db: DbSession, actor: Member) -> list[DependantOut]:
    return [dependant_out(d) for d in dependants.of_payer(db, payer_id=_payer(db, actor).id)]


@router.post("/dependants", response_model=DependantOut, status_code=201)
def add_dependant(body: DependantIn, db: DbSession, actor: Member) -> DependantOut:
    """Add a child, parent or spouse the member pays cover for (their ID number checked)."""
    return dependant_out(dependants.add(
        db, payer_id=_payer(db, actor).id, name=body.name, id_number=body.id_number,
        relation=body.relation, occupation_code=body.occupation_code, actor=actor))
