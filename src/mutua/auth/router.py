"""POST /api/v1/auth/token: the OAuth2 password flow."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.deps import DbSession, Router, allow
from mutua.members import accounts

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


class SignInForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form with a bound on every field (sign-in is public: it must be
    the cheapest place to send a 10 MB string, not the most expensive)."""

    def __init__(
        self,
        *,
        grant_type: Annotated[str | None, Form(pattern="^password$", max_length=8)] = None,
        username: Annotated[str, Form(max_length=accounts.MAX_LOGIN_LENGTH)],
        password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD_LENGTH,
                                      json_schema_extra={"format": "password"})],
        scope: Annotated[str, Form(max_length=200)] = "",
        client_id: Annotated[str | None, Form(max_length=100)] = None,
        client_secret: Annotated[str | None, Form(max_length=100,
                                                  json_schema_extra={"format": "password"})] = None,
    ):
        super().__init__(grant_type=grant_type, username=username, password=password,
                         scope=scope, client_id=client_id, client_secret=client_secret)


@router.post("/token", response_model=Token)
def token(request: Request, db: DbSession, form: Annotated[SignInForm, Depends()]) -> Token:
    """Exchange a username (or member number, or phone) and password for a bearer token."""
    settings = request.app.state.settings
    access = accounts.authenticate(
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
    current_password: str = Field(max_length=accounts.MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=accounts.MIN_PASSWORD_LENGTH,
                              max_length=accounts.MAX_PASSWORD_LENGTH)


@router.post("/password", response_model=Token)
def change_password(request: Request, body: PasswordChange, db: DbSession,
                    principal: Annotated[Principal, Depends(allow(*Role))]) -> Token:
    """Change your own password. Every token and page session issued before it ends; the
    answer carries a new token."""
    settings = request.app.state.settings
    token = accounts.change_own_password(db, principal=principal, current=body.current_password,
                                        new=body.new_password, settings=settings,
                                        client=client_address(request))
    return Token(access_token=token, expires_in=settings.access_token_minutes * 60,
                 role=principal.role.value)


@router.get("/me", response_model=Me)
def me(principal: Annotated[Principal, Depends(allow(*Role))]) -> Me:
    """Who the bearer token belongs to (any signed-in caller)."""
    return Me(user_id=principal.user_id, username=principal.username,
              role=principal.role.value, member_id=principal.member_id)
