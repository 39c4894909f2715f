"""Sign-in, sign-out, the language switch and the front door."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import Form, Query, Request
from sqlalchemy import select

from mutua.auth import sessions
from mutua.auth.models import User
from mutua.auth.roles import Role
from mutua.auth.router import client_address
from mutua.auth.security import credentials_stamp, verify_password
from mutua.dates import today
from mutua.deps import DbSession, Router
from mutua.errors import NotFound, Unauthorized
from mutua.members import accounts
from mutua.web import i18n
from mutua.web.labels import ROLE_LABELS, demo_story
from mutua.web.render import STAFF_SECTIONS, redirect, render, safe_next
from mutua.web.session import new_session, session_of, write_locale, write_session

router = Router()


def home_of(principal) -> str:
    """Where a signed-in person lands: members on their policies, staff on their first part."""
    if principal.is_member:
        return "/me"
    if principal.role in ROLE_HOME:
        return ROLE_HOME[principal.role]
    for section in STAFF_SECTIONS:
        if section.open_to(principal.role):
            return section.path
    return "/signin"


# The queue a role works through all day opens first.
ROLE_HOME = {Role.CLAIMS: "/staff/claims", Role.CARE: "/staff/care",
             Role.SECRETARY: "/staff/governance"}


@router.get("/")
def front_door(request: Request):
    principal = getattr(request.state, "principal", None)
    return redirect(home_of(principal) if principal else "/signin")


@router.get("/signin")
def signin_form(request: Request, db: DbSession,
                next: Annotated[str, Query(max_length=2000)] = ""):
    return render(request, "signin.html", next=safe_next(next, ""), error=None,
                  demo_logins=_demo_logins(request, db))


@router.post("/signin")
def signin(
    request: Request,
    db: DbSession,
    login: Annotated[str, Form(max_length=accounts.MAX_LOGIN_LENGTH)] = "",
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD_LENGTH)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    settings = request.app.state.settings
    try:
        user = accounts.check_password(db, username=login, password=password,
                                           settings=settings, client=client_address(request))
    except accounts.TooManyAttempts:
        return render(request, "signin.html", status_code=429, next=safe_next(next, ""),
                      error="too_many", login=login, demo_logins=_demo_logins(request, db))
    except Unauthorized:
        return render(request, "signin.html", status_code=401, next=safe_next(next, ""),
                      error="wrong", login=login, demo_logins=_demo_logins(request, db))
    principal = accounts.principal_of(user)
    return signed_in(request, db, user, safe_next(next, home_of(principal)))


def signed_in(request: Request, db, user: User, target: str):
    """A redirect to ``target`` that carries a new page session for ``user``: a new
    session row (listed on /account/sessions) and a new CSRF token, so no earlier session
    can be fixed on the person."""
    settings = request.app.state.settings
    sid = sessions.start(db, user_id=user.id, client=client_address(request),
                         user_agent=request.headers.get("user-agent"))
    response = redirect(target)
    write_session(response, request, new_session(
        accounts.principal_of(user),
        stamp=credentials_stamp(user.password_hash, secret=settings.secret_key), sid=sid))
    return response


@router.post("/signout")
def signout(request: Request, db: DbSession):
    sid = session_of(request).get("sid")
    principal = getattr(request.state, "principal", None)
    if sid and principal is not None:
        with contextlib.suppress(NotFound):  # ended already, from another device
            sessions.end(db, sid=str(sid), actor=principal)
    response = redirect("/signin")
    write_session(response, request, new_session())
    return response


@router.post("/language")
def choose_language(
    request: Request,
    locale: Annotated[str, Form(max_length=16)],
    next: Annotated[str, Form(max_length=2000)] = "/",
):
    response = redirect(safe_next(next, "/"))
    write_locale(response, request, i18n.normalise(locale))
    return response


def _demo_logins(request: Request, db) -> list[dict]:
    """The demo's sign-ins, shown on the sign-in page of a demo database only, members with
    what signing in as them shows, in the reader's language.

    A database is the demo's when its ``admin`` account takes the demo password; the answer
    is remembered for the life of the app (the Argon2 check is deliberately slow).
    """
    cached = getattr(request.app.state, "demo_logins", None)
    if cached is None:
        cached = request.app.state.demo_logins = _find_demo_logins(db)
    chinese = i18n.current_locale() == "zh_CN"
    return [dict(row, shows=demo_story(row["member"], i18n.gettext, chinese))
            if "member" in row else row for row in cached]


def _find_demo_logins(db) -> list[dict]:
    try:
        from mutua.demo.builder import DEMO_PASSWORD, STAFF
        from mutua.demo.logins import story_members
    except ImportError:
        return []
    admin = db.scalar(select(User).where(User.username == Role.ADMIN.value))
    if admin is None or not verify_password(admin.password_hash, DEMO_PASSWORD):
        return []
    logins = [{"label": ROLE_LABELS.get(role.value, role.value), "login": role.value,
               "password": DEMO_PASSWORD} for role, _name in STAFF]
    return logins + [{"label": ROLE_LABELS["member"], "login": m.member_number,
                      "phone": m.phone, "password": DEMO_PASSWORD, "member": m.to_dict()}
                     for m in story_members(db, on=today())]
