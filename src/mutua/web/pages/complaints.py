"""Complaints in the portal (/me/complaints) and the staff console (/staff/complaints)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Query, Request

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.claims import service as claims_service
from mutua.complaints import service as complaints
from mutua.complaints.models import ANSWER_LIMIT, TEXT_LIMIT
from mutua.dates import today
from mutua.deps import DbSession, PathId, Router, refusal_undone
from mutua.errors import ValidationFailed
from mutua.members import accounts
from mutua.privacy import service as privacy
from mutua.web.pages.member import Member
from mutua.web.pages.staff import open_to
from mutua.web.problems import describe_all
from mutua.web.render import N_, redirect, render

router = Router()
Handler = open_to("complaints")

CAUSE_LABELS = {"claim": N_("A claim"), "decision": N_("A decision"),
                "service": N_("Our service"), "premium": N_("Premium or cover"),
                "other": N_("Something else")}
STATUS_LABELS = {"received": N_("Received"), "acknowledged": N_("Being handled"),
                 "answered": N_("Answered")}
DONE = {"filed": N_("Your complaint is filed. We acknowledge it by the next working day."),
        "assigned": N_("The complaint has an owner."),
        "acknowledged": N_("The complaint is acknowledged."),
        "extended": N_("The answer is now due 30 days after receipt."),
        "answered": N_("The answer is sent to the member."),
        "closed": N_("The account is closed and its sign-ins ended.")}


def _page(request: Request, template: str, status_code: int = 200, **context):
    return render(request, template, status_code=status_code, causes=CAUSE_LABELS,
                  statuses=STATUS_LABELS, done=DONE.get(request.query_params.get("done", "")),
                  on=today(), is_overdue=complaints.is_overdue, **context)


# --- members ------------------------------------------------------------------------------

def _member_page(request: Request, db, principal: Principal, *, problems=None,
                 status_code: int = 200):
    own_claims = claims_service.list_claims(db, actor=principal, limit=50)[0]
    return _page(request, "member/complaints.html", status_code=status_code,
                 rows=complaints.for_member(db, actor=principal), claims=own_claims,
                 problems=problems or [], text_limit=TEXT_LIMIT)


@router.get("/me/complaints")
def member_complaints(request: Request, db: DbSession, principal: Principal = Member):
    return _member_page(request, db, principal)


@router.post("/me/complaints")
def file_complaint(request: Request, db: DbSession, principal: Principal = Member,
                   cause: Annotated[str, Form(max_length=12)] = "",
                   text: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
                   claim_id: Annotated[str, Form(max_length=20)] = ""):
    try:
        with refusal_undone(db):
            complaint = complaints.file(db, actor=principal, cause=cause, text=text,
                                        claim_id=int(claim_id) if claim_id.isdigit() else None)
    except ValidationFailed as exc:
        return _member_page(request, db, principal, problems=describe_all(exc),
                            status_code=422)
    return redirect(f"/me/complaints/{complaint.id}?done=filed")


@router.get("/me/complaints/{complaint_id}")
def member_complaint(complaint_id: PathId, request: Request, db: DbSession,
                     principal: Principal = Member):
    complaint = complaints.get(db, complaint_id=complaint_id, actor=principal)
    return _page(request, "member/complaint.html", c=complaint)


# --- staff --------------------------------------------------------------------------------

@router.get("/staff/complaints")
def queue(request: Request, db: DbSession, principal: Principal = Handler,
          status: Annotated[str, Query(max_length=10)] = "open"):
    return _page(request, "staff/complaints.html", rows=complaints.queue(
        db, actor=principal, status=status), status=status,
        overdue=complaints.overdue_count(db), closures=privacy.open_closures(db))


@router.post("/staff/closures/{request_id}/close")
def close_account(request_id: PathId, request: Request, db: DbSession,
                  principal: Principal = Handler):
    """Close a member's account they asked to close (refused while anything is open)."""
    privacy.close_account(db, request_id=request_id, actor=principal)
    return redirect("/staff/complaints?done=closed")


@router.get("/staff/complaints/report")
def report(request: Request, db: DbSession, principal: Principal = Handler):
    return _page(request, "staff/complaints_report.html",
                 quarters=complaints.counts_by_quarter(db, actor=principal),
                 cause_codes=complaints.CAUSES)


def _staff_page(request: Request, db, principal: Principal, complaint_id: int, *,
                problems=None, status_code: int = 200):
    complaint = complaints.get(db, complaint_id=complaint_id, actor=principal)
    team = accounts.active_staff(db, roles=(*complaints.HANDLERS, Role.ADMIN))
    return _page(request, "staff/complaint.html", status_code=status_code, c=complaint,
                 team=team, problems=problems or [], answer_limit=ANSWER_LIMIT)


@router.get("/staff/complaints/{complaint_id}")
def complaint_page(complaint_id: PathId, request: Request, db: DbSession,
                   principal: Principal = Handler):
    return _staff_page(request, db, principal, complaint_id)


@router.post("/staff/complaints/{complaint_id}/{action}")
def act(complaint_id: PathId, action: Annotated[str, Path(max_length=12)], request: Request,
        db: DbSession,
        principal: Principal = Handler,
        owner: Annotated[str, Form(max_length=64)] = "",
        reason: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
        answer: Annotated[str, Form(max_length=ANSWER_LIMIT)] = ""):
    steps = {"assign": lambda: complaints.assign(db, complaint_id=complaint_id, owner=owner,
                                                 actor=principal),
             "acknowledge": lambda: complaints.acknowledge(db, complaint_id=complaint_id,
                                                           actor=principal),
             "extend": lambda: complaints.extend(db, complaint_id=complaint_id, reason=reason,
                                                 actor=principal),
             "answer": lambda: complaints.answer(db, complaint_id=complaint_id, text=answer,
                                                 actor=principal)}
    if action not in steps:
        return redirect(f"/staff/complaints/{complaint_id}")
    try:
        with refusal_undone(db):
            steps[action]()
    except ValidationFailed as exc:
        return _staff_page(request, db, principal, complaint_id, problems=describe_all(exc),
                           status_code=422)
    done = {"assign": "assigned", "acknowledge": "acknowledged", "extend": "extended",
            "answer": "answered"}[action]
    return redirect(f"/staff/complaints/{complaint_id}?done={done}")
