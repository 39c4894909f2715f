"""The member's messages (/me/inbox) and how they want to be told (/me/notifications)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request

from mutua.auth.security import Principal
from mutua.deps import DbSession, Router, refusal_undone
from mutua.errors import Forbidden, ValidationFailed
from mutua.notify import service as notify
from mutua.web import i18n
from mutua.web.notices import words
from mutua.web.pages.member import Member
from mutua.web.problems import describe_all
from mutua.web.render import redirect, render

router = Router(prefix="/me")


@router.get("/inbox")
def inbox(request: Request, db: DbSession, principal: Principal = Member):
    rows = notify.inbox(db, member_id=principal.member_id)
    locale = i18n.current_locale()
    messages = [{"id": n.id, "at": n.created_at, "unread": n.read_at is None,
                 "event": n.event, "ref_id": n.ref_id,
                 "words": words(n.event, ref_text=n.ref_text, amount=n.amount, locale=locale)}
                for n in rows]
    return render(request, "member/inbox.html", messages=messages)


@router.post("/inbox/read")
def mark_read(request: Request, db: DbSession, principal: Principal = Member,
              up_to: Annotated[int | None, Form(ge=0, le=2**62)] = None):
    notify.mark_read(db, member_id=principal.member_id, up_to_id=up_to)
    return redirect("/me/inbox")


def _settings_page(request: Request, db, principal: Principal, *, problems=None,
                   status_code: int = 200, saved: bool = False):
    prefs = notify.preferences(db, member_id=principal.member_id)
    return render(request, "member/notifications.html", status_code=status_code, prefs=prefs,
                  problems=problems or [], saved=saved)


@router.get("/notifications")
def settings_page(request: Request, db: DbSession, principal: Principal = Member):
    return _settings_page(request, db, principal,
                          saved=request.query_params.get("done") == "saved")


@router.post("/notifications")
def save_settings(request: Request, db: DbSession, principal: Principal = Member,
                  sms: Annotated[str, Form(max_length=3)] = "",
                  email: Annotated[str, Form(max_length=3)] = "",
                  email_address: Annotated[str, Form(max_length=120)] = "",
                  locale: Annotated[str, Form(max_length=8)] = "zh_CN"):
    if principal.member_id is None:  # an administrator passes allow(MEMBER) but is nobody's
        raise Forbidden("this record belongs to another member")
    try:
        with refusal_undone(db):
            notify.set_preferences(db, member_id=principal.member_id, sms=sms == "on",
                                   email=email == "on", email_address=email_address, locale=locale,
                                   actor=principal)
    except ValidationFailed as exc:
        return _settings_page(request, db, principal, problems=describe_all(exc),
                              status_code=422)
    return redirect("/me/notifications?done=saved")
