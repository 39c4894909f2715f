"""A member's data (download as JSON or PDF) and asking to close the account (/me/privacy)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Form, Request
from starlette.responses import Response

from mutua.auth.security import Principal
from mutua.deps import DbSession, Router, refusal_undone
from mutua.errors import Conflict, ValidationFailed
from mutua.privacy import service as privacy
from mutua.web import pdf
from mutua.web.i18n import gettext as _
from mutua.web.pages.member import Member
from mutua.web.problems import describe_all
from mutua.web.render import N_, redirect, render

router = Router(prefix="/me/privacy")

PARTS = {"member": N_("You"), "contact_preferences": N_("How we tell you"),
         "policies": N_("Policies"), "claims": N_("Claims"),
         "claim_payments": N_("Claim payments"), "health_results": N_("Health results"),
         "health_alerts": N_("Health alerts"),
         "votes_taken_part_in": N_("Votes you could take part in"),
         "complaints": N_("Complaints"), "notifications": N_("Messages"),
         "sign_in_sessions": N_("Sign-ins"), "closure_requests": N_("Requests to close")}


def _page(request: Request, db, principal: Principal, *, problems=None, status_code=200):
    return render(request, "member/privacy.html", status_code=status_code,
                  closures=privacy.my_closures(db, actor=principal),
                  problems=problems or [],
                  asked=request.query_params.get("done") == "asked")


@router.get("")
def privacy_page(request: Request, db: DbSession, principal: Principal = Member):
    return _page(request, db, principal)


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "private, no-store"})


@router.get("/data.json")
def data_json(db: DbSession, principal: Principal = Member):
    data = privacy.my_data(db, actor=principal)
    body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return _attachment(body, "application/json", f"my-data-{principal.username}.json")


@router.get("/data.pdf")
def data_pdf(db: DbSession, principal: Principal = Member):
    data = privacy.my_data(db, actor=principal)
    sections = []
    for part, msgid in PARTS.items():
        value = data.get(part)
        records = value if isinstance(value, list) else [value] if value else []
        rows = []
        for n, record in enumerate(records, 1):
            for key, field in record.items():
                rows.append((f"{n}. {key}" if len(records) > 1 else key,
                             "" if field is None else str(field)[:60]))
        sections.append(pdf.Section(_(msgid), rows, note="" if rows else _("Nothing held.")))
    doc = pdf.Document(title=_("What the mutual holds about you"),
                       subtitle=f"{principal.username} · {data['exported_at'][:19]}",
                       sections=sections,
                       footer=_("The same data is in the JSON download, which a program can "
                                "read."))
    return _attachment(pdf.render_pdf(doc), "application/pdf",
                       f"my-data-{principal.username}.pdf")


@router.post("/close")
def ask_to_close(request: Request, db: DbSession, principal: Principal = Member,
                 reason: Annotated[str, Form(max_length=privacy.REASON_LIMIT)] = ""):
    try:
        with refusal_undone(db):
            privacy.request_closure(db, actor=principal, reason=reason)
    except (ValidationFailed, Conflict) as exc:
        return _page(request, db, principal, problems=describe_all(exc),
                     status_code=exc.status_code)
    return redirect("/me/privacy?done=asked")
