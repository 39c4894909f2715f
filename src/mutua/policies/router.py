"""HTTP routes under /api/v1/policies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response
from sqlalchemy.orm import Session

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.deps import (
    DbSession,
    Page,
    PageParams,
    Paging,
    PathId,
    Router,
    allow,
    as_json,
    in_one_trip,
    works_in_one_trip,
)
from mutua.errors import ValidationFailed
from mutua.policies import cancellation, service, views
from mutua.policies.models import Policy
from mutua.policies.schemas import CancelIn, EnrolIn, PolicyOut

router = Router(prefix="/policies", tags=["policies"])

Enroller = Annotated[Principal, Depends(allow(Role.MEMBER, Role.UNDERWRITER))]
Reader = Annotated[Principal, Depends(allow(*Role))]


def policy_out(db: Session, policy: Policy) -> PolicyOut:
    """The policy as members and staff read it, changes made in this session included."""
    db.flush()  # the read model reads through the connection, under the session's unit of work
    return views.by_ids(db, [policy.id])[0]


@router.post("", response_model=PolicyOut, status_code=201)
def enrol(body: EnrolIn, db: DbSession, actor: Enroller) -> Response:
    """Enrol in a product's open period: a member enrols themself, owing the premium (the
    policy covers from its start once paid: POST /premiums/checkout; /enrolment/confirm
    does the same after the terms are read); an underwriter names the member and records
    the premium taken at the counter."""
    member_id = actor.member_id if actor.is_member else body.member_id
    if member_id is None:
        raise ValidationFailed("member_id", "is required when staff enrol a member")
    policy = service.enrol(db, member_id=member_id, product_code=body.product_code,
                           period_code=body.period_code, actor=actor,
                           payment_reference=body.payment_reference,
                           paid=not actor.is_member, declaration=body.declaration)
    return as_json(views.enrolled(db, policy), status_code=201)


@router.get("/mine", response_model=Page[PolicyOut])
@works_in_one_trip
async def mine(db: DbSession, actor: Annotated[Principal, Depends(allow(Role.MEMBER))],
               paging: Paging) -> Response:
    """The signed-in member's policies."""
    return await _member_page(db, actor.member_id, actor, paging)


@router.get("/by-member/{member_id}", response_model=Page[PolicyOut])
@works_in_one_trip
async def by_member(member_id: PathId, db: DbSession, actor: Reader, paging: Paging) -> Response:
    """A member's policies (staff, or the member themself)."""
    return await _member_page(db, member_id, actor, paging)


async def _member_page(db: Session, member_id: int, actor: Principal,
                       paging: PageParams) -> Response:
    # The busiest read: the caller's account, its queries and the end of its unit of work in
    # one thread trip; whether the caller may read this member is judged after the account.
    def read():
        service.check_may_read_member(member_id=member_id, actor=actor)
        return views.member_page(db, member_id=member_id, limit=paging.limit,
                                 offset=paging.offset)

    items, total = await in_one_trip(db, read)
    return as_json(Page(items=items, total=total, limit=paging.limit, offset=paging.offset))


@router.get("/{policy_id}", response_model=PolicyOut)
def get(policy_id: PathId, db: DbSession, actor: Reader) -> Response:
    """One policy with each benefit's sum insured today and its uplift history."""
    return as_json(policy_out(db, service.get(db, policy_id=policy_id, actor=actor)))


@router.post("/{policy_id}/cancel", response_model=PolicyOut)
def cancel(policy_id: PathId, body: CancelIn, db: DbSession, actor: Enroller) -> PolicyOut:
    """Cancel: full refund within 15 days of enrolment, else the unearned premium."""
    return policy_out(db, cancellation.cancel(db, policy_id=policy_id, actor=actor, reason=body.reason))
