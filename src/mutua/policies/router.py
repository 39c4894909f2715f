"""HTTP routes under /api/v1/policies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.dates import today
from mutua.deps import DbSession, Page, Paging, allow, as_json
from mutua.errors import ValidationFailed
from mutua.policies import service
from mutua.policies.models import Policy
from mutua.policies.schemas import BenefitCoverOut, CancelIn, EnrolIn, PolicyOut, UpliftOut

router = APIRouter(prefix="/policies", tags=["policies"])

Enroller = Annotated[Principal, Depends(allow(Role.MEMBER, Role.UNDERWRITER))]
Reader = Annotated[Principal, Depends(allow(*Role))]


def policy_out(db: Session, policy: Policy) -> PolicyOut:
    return policy_views(db, [policy])[0]


def policy_views(db: Session, policies: list[Policy]) -> list[PolicyOut]:
    """Policies as members and staff read them, with a fixed number of queries per page."""
    if not policies:
        return []
    on = today()
    history = service.uplifts_of(db, policy_ids=[p.id for p in policies])
    covers = service.covers_of(db, policies=policies, on_for=lambda p: max(p.cover_start, on),
                               history=history)
    projects, periods = service.codes_of(db, policies=policies)
    return [PolicyOut(
        id=p.id, policy_number=p.policy_number, project_code=projects[p.project_id],
        product_code=covers[p.id].product_code, period_code=periods[p.period_id],
        member_id=p.member_id, status=p.status, enrolled_on=p.enrolled_on,
        cover_start=p.cover_start, cover_end=p.cover_end, premium=p.premium, refund=p.refund,
        occupation_class=p.occupation_class, age_at_start=p.age_at_start,
        coefficient=p.coefficient,
        benefits=[BenefitCoverOut(code=b.code, kind=b.kind, sum_insured=b.sum_insured,
                                  base_sum_insured=b.base_sum_insured, uplift=b.uplift)
                  for b in covers[p.id].benefits],
        uplifts=[UpliftOut(benefit_code=code, quarter=u.quarter, effective_from=u.effective_from,
                           money=u.money, sum_insured_added=u.sum_insured_added)
                 for code, u in history[p.id]],
    ) for p in policies]


@router.post("", response_model=PolicyOut, status_code=201)
def enrol(body: EnrolIn, db: DbSession, actor: Enroller) -> Response:
    """Enrol in a product's open period: a member enrols themself; an underwriter names the member."""
    member_id = actor.member_id if actor.is_member else body.member_id
    if member_id is None:
        raise ValidationFailed("member_id", "is required when staff enrol a member")
    policy = service.enrol(db, member_id=member_id, product_code=body.product_code,
                           period_code=body.period_code, actor=actor,
                           payment_reference=body.payment_reference)
    return as_json(policy_out(db, policy), status_code=201)


@router.get("/mine", response_model=Page[PolicyOut])
def mine(db: DbSession, actor: Annotated[Principal, Depends(allow(Role.MEMBER))],
         paging: Paging) -> Response:
    """The signed-in member's policies."""
    rows, total = service.list_for_member(db, member_id=actor.member_id, actor=actor,
                                          limit=paging.limit, offset=paging.offset)
    return as_json(Page(items=policy_views(db, rows), total=total, limit=paging.limit,
                        offset=paging.offset))


@router.get("/by-member/{member_id}", response_model=Page[PolicyOut])
def by_member(member_id: int, db: DbSession, actor: Reader, paging: Paging) -> Response:
    """A member's policies (staff, or the member themself)."""
    rows, total = service.list_for_member(db, member_id=member_id, actor=actor,
                                          limit=paging.limit, offset=paging.offset)
    return as_json(Page(items=policy_views(db, rows), total=total, limit=paging.limit,
                        offset=paging.offset))


@router.get("/{policy_id}", response_model=PolicyOut)
def get(policy_id: int, db: DbSession, actor: Reader) -> Response:
    """One policy with each benefit's sum insured today and its uplift history."""
    return as_json(policy_out(db, service.get(db, policy_id=policy_id, actor=actor)))


@router.post("/{policy_id}/cancel", response_model=PolicyOut)
def cancel(policy_id: int, body: CancelIn, db: DbSession, actor: Enroller) -> PolicyOut:
    """Cancel: full refund within 15 days of enrolment, else the unearned premium."""
    return policy_out(db, service.cancel(db, policy_id=policy_id, actor=actor, reason=body.reason))
