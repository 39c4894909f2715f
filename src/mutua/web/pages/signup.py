"""Joining from the portal, resetting a forgotten password, and one's signed-in sessions.

Sign-up is two steps on one page (/join): the details and a code sent to the phone, then
the code and a password. Nothing is kept between the steps but the code's own row: the
second form carries the details back (the person typed them; the page is not cached) and
the service checks them all again. Design: docs/members.md.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Path, Request

from mutua.auth import sessions
from mutua.auth.phone_codes import SmsNotSent, TooManyCodes
from mutua.auth.roles import Role
from mutua.auth.router import client_address
from mutua.auth.security import Principal
from mutua.deps import DbSession, Router, allow, refusal_undone
from mutua.errors import Conflict, DomainError, Problem, ValidationFailed
from mutua.members import accounts, signup
from mutua.members.schemas import MemberIn
from mutua.messaging.sms import sms_sender
from mutua.web.pages.auth import signed_in
from mutua.web.pages.staff_members import FORM_FIELDS, blank_is_required, occupation_groups
from mutua.web.problems import describe, describe_all
from mutua.web.render import redirect, render
from mutua.web.session import session_of

router = Router()
AnyoneSignedIn = Depends(allow(*Role))

Text = Annotated[str, Form(max_length=200)]
Password = Annotated[str, Form(max_length=accounts.MAX_PASSWORD_LENGTH)]
Code = Annotated[str, Form(max_length=12)]


def _details(name: str, id_number: str, phone: str, occupation_code: str, city: str,
             password: str | None = None) -> tuple[dict, MemberIn]:
    form = dict(name=name, id_number=id_number, phone=phone, occupation_code=occupation_code,
                city=city)
    # The service checks every field and names each broken rule (not pydantic first, which
    # would stop at the first bad field).
    return form, MemberIn.model_construct(**form, password=password or None)


def _refusal(exc: DomainError, form: dict) -> list[str]:
    if isinstance(exc, ValidationFailed):
        return describe_all(ValidationFailed(blank_is_required(exc.problems, form)))
    if isinstance(exc, signup.AlreadyMember):
        return [describe(Problem("id_number", "is already registered"))]
    return describe_all(exc)


def _join_page(request: Request, *, step: str = "details", form: dict | None = None,
               problems=None, status_code: int = 200):
    return render(request, "join.html", status_code=status_code, step=step, form=form or {},
                  fields=FORM_FIELDS, problems=problems or [], groups=occupation_groups())


@router.get("/join")
def join_page(request: Request):
    return _join_page(request)


@router.post("/join/code")
def join_code(request: Request, db: DbSession, name: Text = "", id_number: Text = "",
              phone: Text = "", occupation_code: Text = "", city: Text = ""):
    """Step 1: check the details and send the code (again, when asked from step 2)."""
    form, data = _details(name, id_number, phone, occupation_code, city)
    settings = request.app.state.settings
    try:
        with refusal_undone(db):
            signup.request_code(db, data=data, settings=settings, sender=sms_sender(settings),
                                client=client_address(request))
    except (ValidationFailed, Conflict, TooManyCodes, SmsNotSent) as exc:
        return _join_page(request, form=form, problems=_refusal(exc, form),
                          status_code=exc.status_code)
    return _join_page(request, step="code", form=form)


@router.post("/join")
def join(request: Request, db: DbSession, name: Text = "", id_number: Text = "",
         phone: Text = "", occupation_code: Text = "", city: Text = "", sms_code: Code = "",
         password: Password = "", password_again: Password = ""):
    """Step 2: the code and a password; the member is registered and signed in, and goes
    straight on to choose a product."""
    form, data = _details(name, id_number, phone, occupation_code, city, password)
    settings = request.app.state.settings
    try:
        with refusal_undone(db):
            if password != password_again:
                raise ValidationFailed("password_again", "does not match the password")
            member = signup.sign_up(db, data=data, code=sms_code, settings=settings)
    except (ValidationFailed, Conflict) as exc:
        on_details = isinstance(exc, Conflict) or any(
            p.field in FORM_FIELDS for p in exc.problems)
        return _join_page(request, step="details" if on_details else "code", form=form,
                          problems=_refusal(exc, form), status_code=exc.status_code)
    return signed_in(request, db, signup.login_of(db, member), "/me/enrol?welcome=1")


# --- a forgotten password ----------------------------------------------------------------

def _reset_page(request: Request, *, step: str = "login", login: str = "", problems=None,
                status_code: int = 200):
    return render(request, "reset.html", status_code=status_code, step=step, login=login,
                  problems=problems or [])


@router.get("/reset")
def reset_page(request: Request):
    return _reset_page(request)


@router.post("/reset/code")
def reset_code(request: Request, db: DbSession,
               login: Annotated[str, Form(max_length=accounts.MAX_LOGIN_LENGTH)] = ""):
    settings = request.app.state.settings
    try:
        with refusal_undone(db):
            signup.request_reset(db, login=login, settings=settings, sender=sms_sender(settings),
                                 client=client_address(request))
    except (TooManyCodes, SmsNotSent) as exc:
        return _reset_page(request, login=login, problems=describe_all(exc),
                           status_code=exc.status_code)
    return _reset_page(request, step="code", login=login)


@router.post("/reset")
def reset(request: Request, db: DbSession,
          login: Annotated[str, Form(max_length=accounts.MAX_LOGIN_LENGTH)] = "",
          sms_code: Code = "", password: Password = "", password_again: Password = ""):
    settings = request.app.state.settings
    try:
        with refusal_undone(db):
            if password != password_again:
                raise ValidationFailed("password_again", "does not match the password")
            user = signup.reset_password(db, login=login, code=sms_code, password=password,
                                         settings=settings)
    except ValidationFailed as exc:
        return _reset_page(request, step="code", login=login, problems=describe_all(exc),
                           status_code=exc.status_code)
    return signed_in(request, db, user, "/")


# --- where am I signed in? ---------------------------------------------------------------

@router.get("/account/sessions")
def sessions_page(request: Request, db: DbSession, principal: Principal = AnyoneSignedIn):
    rows = sessions.live_for(db, user_id=principal.user_id)
    return render(request, "sessions.html", rows=rows,
                  current=session_of(request).get("sid"),
                  ended=request.query_params.get("done") == "ended")


@router.post("/account/sessions/{sid}/end")
def end_session(request: Request, db: DbSession,
                sid: Annotated[str, Path(max_length=32)],
                principal: Principal = AnyoneSignedIn):
    sessions.end(db, sid=sid, actor=principal)
    if sid == session_of(request).get("sid"):
        return redirect("/signin")
    return redirect("/account/sessions?done=ended")
