"""The member portal (/me): a member's own policies, claims, statements, votes and health."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.deps import DbSession, allow
from mutua.web.render import render

router = APIRouter(prefix="/me")
Member = Depends(allow(Role.MEMBER))


def _member(principal: Principal) -> Principal:
    return principal


@router.get("")
def home(request: Request, db: DbSession, principal: Principal = Member):
    return render(request, "member/home.html", policies=[])
