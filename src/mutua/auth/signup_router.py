"""Joining, signing in by phone code and resetting a password through the JSON API.

The same use cases as the pages (members/signup.py): the same rules, limits and messages, and
the same refusals (422 naming the field, 409 for an ID number already registered, 429 past
the sending limits, 503 when the SMS could not go), with nothing stored on any of them.

    POST /api/v1/auth/signup/code   the details -> a code to the phone          (202)
    POST /api/v1/auth/signup        the details, the code, a password -> member + token (201)
    POST /api/v1/auth/code          a login (member number or phone) -> a sign-in code (202)
    POST /api/v1/auth/code/token    the login and the code -> token
    POST /api/v1/auth/reset/code    a login -> a reset code (202)
    POST /api/v1/auth/reset         the login, the code, a new password -> token

A code request for a login names no account in its answer: an unknown login is answered
as a known one is, and nothing is sent.
"""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel, Field

from mutua.auth.router import Token, client_address
from mutua.deps import DbSession, Router
from mutua.members import accounts, signup
from mutua.members.schemas import MemberIn
from mutua.messaging.sms import sms_sender

router = Router(prefix="/auth", tags=["auth"])

CODE_LENGTH = 12  # six digits, with room for the spaces people type


class SignupDetails(BaseModel):
    """Who joins. Every field is checked by the registration rules (members.service), which
    name each broken one; here only bounds."""

    name: str = Field(default="", max_length=200)
    id_number: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=200)
    occupation_code: str = Field(default="", max_length=200)
    city: str = Field(default="", max_length=200)

    def member_in(self, password: str | None = None) -> MemberIn:
        # Constructed unchecked: the service checks every field and names each broken rule.
        return MemberIn.model_construct(**self.model_dump(include=set(SignupDetails.model_fields)),
                                        password=password)


class Signup(SignupDetails):
    sms_code: str = Field(default="", max_length=CODE_LENGTH)
    password: str = Field(default="", max_length=accounts.MAX_PASSWORD_LENGTH)


class LoginIn(BaseModel):
    login: str = Field(max_length=accounts.MAX_LOGIN_LENGTH,
                       description="member number or mobile phone")


class CodeSignIn(LoginIn):
    sms_code: str = Field(max_length=CODE_LENGTH)


class Reset(CodeSignIn):
    password: str = Field(max_length=accounts.MAX_PASSWORD_LENGTH)


class CodeSent(BaseModel):
    expires_in: int = Field(description="seconds the code is good for")


class Joined(Token):
    member_number: str


def _sent(request: Request) -> CodeSent:
    return CodeSent(expires_in=request.app.state.settings.phone_code_minutes * 60)


def _send_to_login(request: Request, db, login: str, send) -> CodeSent:
    settings = request.app.state.settings
    send(db, login=login, settings=settings, sender=sms_sender(settings),
         client=client_address(request))
    return _sent(request)


def _token(request: Request, user) -> Token:
    settings = request.app.state.settings
    access = accounts.access_for(user, settings=settings)
    return Token(access_token=access.token, expires_in=settings.access_token_minutes * 60,
                 role=access.principal.role.value)


@router.post("/signup/code", response_model=CodeSent, status_code=202)
def signup_code(request: Request, body: SignupDetails, db: DbSession) -> CodeSent:
    """Check the details and send a code to the phone (the first step of joining)."""
    settings = request.app.state.settings
    signup.request_code(db, data=body.member_in(), settings=settings,
                        sender=sms_sender(settings), client=client_address(request))
    return _sent(request)


@router.post("/signup", response_model=Joined, status_code=201)
def join(request: Request, body: Signup, db: DbSession) -> Joined:
    """Register the member and their login with the code from the phone; signed in."""
    member = signup.sign_up(db, data=body.member_in(body.password or None), code=body.sms_code,
                            settings=request.app.state.settings)
    token = _token(request, signup.login_of(db, member))
    return Joined(**token.model_dump(), member_number=member.member_number)


@router.post("/code", response_model=CodeSent, status_code=202)
def signin_code(request: Request, body: LoginIn, db: DbSession) -> CodeSent:
    """Send a sign-in code to the phone of the member account the login names."""
    return _send_to_login(request, db, body.login, signup.request_signin_code)


@router.post("/code/token", response_model=Token)
def signin_with_code(request: Request, body: CodeSignIn, db: DbSession) -> Token:
    """A bearer token for the member account the login names, with the code sent to it."""
    user = signup.sign_in_with_code(db, login=body.login, code=body.sms_code,
                                    settings=request.app.state.settings)
    return _token(request, user)


@router.post("/reset/code", response_model=CodeSent, status_code=202)
def reset_code(request: Request, body: LoginIn, db: DbSession) -> CodeSent:
    """Send a password-reset code (also an imported member's first sign-in)."""
    return _send_to_login(request, db, body.login, signup.request_reset)


@router.post("/reset", response_model=Token)
def reset(request: Request, body: Reset, db: DbSession) -> Token:
    """A new password with the code; every earlier token and session of the account ends."""
    settings = request.app.state.settings
    user = signup.reset_password(db, login=body.login, code=body.sms_code,
                                 password=body.password, settings=settings)
    return _token(request, user)
