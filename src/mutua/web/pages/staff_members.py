"""Member search (/staff/members): find a member, see their policies and claims.

Identity numbers and phones are masked unless the role needs them (members.to_out)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.claims import service as claims_service
from mutua.deps import DbSession
from mutua.members import service as members_service
from mutua.policies import service as policies_service
from mutua.web import labels
from mutua.web.pages.member import POLICY_STATUS
from mutua.web.pages.staff import open_to
from mutua.web.render import render

router = APIRouter(prefix="/staff/members")
PAGE = 50


@router.get("")
def search(request: Request, db: DbSession, principal: Principal = open_to("members"),
           q: str = Query("", max_length=60), offset: int = Query(0, ge=0)):
    rows, total = ([], 0)
    if q.strip():
        found, total = members_service.search(db, query=q, limit=PAGE, offset=offset)
        rows = [members_service.to_out(m, viewer=principal) for m in found]
    return render(request, "staff/members.html", q=q, rows=rows, total=total, offset=offset,
                  page=PAGE, more=offset + PAGE < total)


@router.get("/{member_id}")
def member_page(member_id: int, request: Request, db: DbSession,
                principal: Principal = open_to("members")):
    member = members_service.to_out(
        members_service.get(db, member_id=member_id, actor=principal), viewer=principal)
    policies, _n = policies_service.list_for_member(db, member_id=member_id, actor=principal)
    claims = []
    if principal.role in (Role.CLAIMS, Role.ADMIN):
        claims, _n = claims_service.list_claims(db, actor=principal, member_id=member_id)
    return render(request, "staff/member.html", member=member, policies=policies,
                  claims=claims, status_labels=POLICY_STATUS,
                  claim_status=labels.CLAIM_STATUS,
                  sees_health=principal.role in (Role.CARE, Role.ADMIN))
