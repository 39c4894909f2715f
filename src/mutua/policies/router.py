"""HTTP routes under /api/v1/policies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.dates import today
from mutua.deps import DbSession, Page, Paging, allow
from mutua.errors import ValidationFailed
from mutua.policies import service
from mutua.policies.models import Policy
from mutua.policies.schemas import BenefitCoverOut, CancelIn, EnrolIn, PolicyOut, UpliftOut

router = APIRouter(prefix="/policies", tags=["policies"])

Enroller = Annotated[Principal, Depends(allow(Role.MEMBER, Role.UNDERWRITER))]
Reader = Annotated[Principal, Depends(allow(*Role))]


def policy_out(db: Session, policy: Policy) -> PolicyOut:
    cover = service.cover_on(db, policy_id=policy.id, on=max(policy.cover_start, today()))
    return PolicyOut(
        id=policy.id, policy_number=policy.policy_number,
        project_code=service.project_code_of(db, policy.project_id),
        product_code=cover.product_code, period_code=service.period_code_of(db, policy.period_id),
        member_id=policy.member_id, status=policy.status, enrolled_on=policy.enrolled_on,
        cover_start=policy.cover_start, cover_end=policy.cover_end, premium=policy.premium,
        refund=policy.refund, occupation_class=policy.occupation_class,
        age_at_start=policy.age_at_start, coefficient=policy.coefficient,
        benefits=[BenefitCoverOut(code=b.code, kind=b.kind, sum_insured=b.sum_insured,
                                  base_sum_insured=b.base_sum_insured, uplift=b.uplift)
                  for b in cover.benefits],
        uplifts=[UpliftOut(benefit_code=code, quarter=u.quarter, effective_from=u.effective_from,
                           money=u.money, sum_insured_added=u.sum_insured_added)
                 for code, u in service.uplifts_of(db, policy_id=policy.id)],
    )


@router.post("", response_model=PolicyOut, status_code=201)
def enrol(body: EnrolIn, db: DbSession, actor: Enroller) -> PolicyOut:
    """Enrol in a product's open period: a member enrols themself; an underwriter names the member."""
    member_id = actor.member_id if actor.is_member else body.member_id
    if member_id is None:
        raise ValidationFailed("member_id", "is required when staff enrol a member")
    policy = service.enrol(db, member_id=member_id, product_code=body.product_code,
                           period_code=body.period_code, actor=actor,
                           payment_reference=body.payment_reference)
    return policy_out(db, policy)


@router.get("/mine", response_model=Page[PolicyOut])
def mine(db: DbSession, actor: Annotated[Principal, Depends(allow(Role.MEMBER))],
         paging: Paging) -> Page[PolicyOut]:
    """The signed-in member's policies."""
    rows, total = service.list_for_member(db, member_id=actor.member_id, actor=actor,
                                          limit=paging.limit, offset=paging.offset)
    return Page(items=[policy_out(db, p) for p in rows], total=total, limit=paging.limit,
                offset=paging.offset)


@router.get("/by-member/{member_id}", response_model=Page[PolicyOut])
def by_member(member_id: int, db: DbSession, actor: Reader, paging: Paging) -> Page[PolicyOut]:
    """A member's policies (staff, or the member themself)."""
    rows, total = service.list_for_member(db, member_id=member_id, actor=actor,
                                          limit=paging.limit, offset=paging.offset)
    return Page(items=[policy_out(db, p) for p in rows], total=total, limit=paging.limit,
                offset=paging.offset)


@router.get("/{policy_id}", response_model=PolicyOut)
def get(policy_id: int, db: DbSession, actor: Reader) -> PolicyOut:
    """One policy with each benefit's sum insured today and its uplift history."""
    return policy_out(db, service.get(db, policy_id=policy_id, actor=actor))


@router.post("/{policy_id}/cancel", response_model=PolicyOut)
def cancel(policy_id: int, body: CancelIn, db: DbSession, actor: Enroller) -> PolicyOut:
    """Cancel: full refund within 15 days of enrolment, else the unearned premium."""
    return policy_out(db, service.cancel(db, policy_id=policy_id, actor=actor, reason=body.reason))
