"""POST /api/v1/auth/token: the OAuth2 password flow."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from mutua.auth import service
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.deps import DbSession, Router, allow

router = Router(prefix="/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


class Me(BaseModel):
    user_id: int
    username: str
    role: str
    member_id: int | None


@router.post("/token", response_model=Token)
def token(
    request: Request, db: DbSession, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """Exchange a username (or member number, or phone) and password for a bearer token."""
    settings = request.app.state.settings
    access = service.authenticate(
        db, username=form.username, password=form.password, settings=settings,
        client=client_address(request),
    )
    return Token(
        access_token=access.token,
        expires_in=settings.access_token_minutes * 60,
        role=access.principal.role.value,
    )


def client_address(request: Request) -> str | None:
    """The caller's address (behind a proxy, uvicorn's --proxy-headers puts the client's)."""
    return request.client.host if request.client else None


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=service.MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=service.MIN_PASSWORD_LENGTH,
                              max_length=service.MAX_PASSWORD_LENGTH)


@router.post("/password", response_model=Token)
def change_password(request: Request, body: PasswordChange, db: DbSession,
                    principal: Annotated[Principal, Depends(allow(*Role))]) -> Token:
    """Change your own password. Every token and page session issued before it ends; the
    answer carries a new token."""
    settings = request.app.state.settings
    token = service.change_own_password(db, principal=principal, current=body.current_password,
                                        new=body.new_password, settings=settings,
                                        client=client_address(request))
    return Token(access_token=token, expires_in=settings.access_token_minutes * 60,
                 role=principal.role.value)


@router.get("/me", response_model=Me)
def me(principal: Annotated[Principal, Depends(allow(*Role))]) -> Me:
    """Who the bearer token belongs to (any signed-in caller)."""
    return Me(user_id=principal.user_id, username=principal.username,
              role=principal.role.value, member_id=principal.member_id)
