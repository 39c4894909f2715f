"""Governance for the secretary (/staff/governance): proposals with live turnout and
published tallies, opening and closing votes, meetings, feedback items and ratings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request

from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.dates import SHANGHAI, utcnow
from mutua.deps import DbSession
from mutua.errors import Conflict, ValidationFailed
from mutua.governance import meetings as governance_meetings
from mutua.governance import ratings as governance_ratings
from mutua.governance import service as governance_service
from mutua.web.pages.member_governance import KIND_LABELS, PROPOSAL_STATUS, option_labels
from mutua.web.pages.staff import open_to
from mutua.web.render import redirect, render

router = APIRouter(prefix="/staff/governance")
PAGE = 50
FEEDBACK_STATUS = ("open", "in_progress", "answered", "done")


def _page(request, db, principal, *, problems=None, status_code=200):
    proposals, _total = governance_service.list_proposals(db, actor=principal, limit=PAGE)
    turnout = governance_service.turnout(db, proposal_ids=[p.id for p in proposals])
    meetings, _n = governance_meetings.list_meetings(db, actor=principal, limit=20)
    registered = {m.id: governance_meetings.registrations(db, meeting_id=m.id) for m in meetings}
    feedback, _n = governance_meetings.list_feedback(db, actor=principal, limit=PAGE)
    return render(request, "staff/governance.html", status_code=status_code,
                  proposals=proposals, turnout=turnout, meetings=meetings,
                  registered=registered, feedback=feedback, feedback_status=FEEDBACK_STATUS,
                  ratings=governance_ratings.summary(db), projects=catalog_service.list_projects(db),
                  status_labels=PROPOSAL_STATUS, kind_labels=KIND_LABELS,
                  labels_of=option_labels, problems=problems or [],
                  now=utcnow().astimezone(SHANGHAI))


@router.get("")
def governance(request: Request, db: DbSession, principal: Principal = open_to("governance")):
    return _page(request, db, principal)


@router.get("/turnout")
def live_turnout(request: Request, db: DbSession, principal: Principal = open_to("governance")):
    """The turnout cells alone, polled by the page every few seconds (htmx)."""
    proposals, _total = governance_service.list_proposals(db, actor=principal, status="open",
                                                          limit=PAGE)
    turnout = governance_service.turnout(db, proposal_ids=[p.id for p in proposals])
    return render(request, "staff/_turnout.html", proposals=proposals, turnout=turnout)


@router.post("/proposals")
def create_motion(request: Request, db: DbSession, principal: Principal = open_to("governance"),
                  title_zh: Annotated[str, Form(max_length=200)] = "",
                  title_en: Annotated[str, Form(max_length=300)] = "",
                  body_zh: Annotated[str, Form(max_length=4000)] = "",
                  body_en: Annotated[str, Form(max_length=4000)] = "",
                  project: Annotated[str, Form(max_length=32)] = "",
                  quorum: Annotated[str, Form(max_length=8)] = "0.1",
                  days: Annotated[int, Form(ge=1, le=60)] = 7):
    project_id = catalog_service.get_project(db, code=project).id if project else None
    opens = utcnow()
    try:
        governance_service.create_proposal(
            db, kind="motion", project_id=project_id, title_zh=title_zh, title_en=title_en,
            body_zh=body_zh, body_en=body_en, quorum=quorum, opens_at=opens,
            closes_at=opens + timedelta(days=days), actor=principal)
    except ValidationFailed as exc:
        db.rollback()
        return _page(request, db, principal, status_code=422,
                     problems=[f"{p.field}: {p.rule}" for p in exc.problems])
    return redirect("/staff/governance")


@router.post("/proposals/{proposal_id}/open")
def open_vote(proposal_id: int, db: DbSession, principal: Principal = open_to("governance")):
    governance_service.open_proposal(db, proposal_id=proposal_id, actor=principal)
    return redirect("/staff/governance")


@router.post("/proposals/{proposal_id}/close")
def close_vote(proposal_id: int, request: Request, db: DbSession,
               principal: Principal = open_to("governance")):
    try:
        governance_service.close_proposal(db, proposal_id=proposal_id, actor=principal)
    except Conflict as exc:
        db.rollback()
        return _page(request, db, principal, status_code=409, problems=[exc.message])
    return redirect("/staff/governance")


@router.post("/meetings")
def schedule(request: Request, db: DbSession, principal: Principal = open_to("governance"),
             title_zh: Annotated[str, Form(max_length=200)] = "",
             title_en: Annotated[str, Form(max_length=300)] = "",
             mode: Annotated[str, Form(max_length=12)] = "in_person",
             place: Annotated[str, Form(max_length=300)] = "",
             starts_at: Annotated[str, Form(max_length=16)] = "",
             project: Annotated[str, Form(max_length=32)] = ""):
    project_id = catalog_service.get_project(db, code=project).id if project else None
    try:
        when = datetime.fromisoformat(starts_at).replace(tzinfo=SHANGHAI)
    except ValueError:
        return _page(request, db, principal, status_code=422,
                     problems=["starts_at: must be a date and time"])
    try:
        governance_meetings.schedule_meeting(db, project_id=project_id, title_zh=title_zh,
                                             title_en=title_en, mode=mode, place=place,
                                             starts_at=when, actor=principal)
    except ValidationFailed as exc:
        db.rollback()
        return _page(request, db, principal, status_code=422,
                     problems=[f"{p.field}: {p.rule}" for p in exc.problems])
    return redirect("/staff/governance#meetings")


@router.post("/feedback/{item_id}")
def answer(item_id: int, request: Request, db: DbSession,
           principal: Principal = open_to("governance"),
           owner: Annotated[str, Form(max_length=64)] = "",
           response: Annotated[str, Form(max_length=4000)] = "",
           status: Annotated[str, Form(max_length=12)] = ""):
    try:
        governance_meetings.update_feedback(db, item_id=item_id, actor=principal,
                                            owner=owner or None, response=response or None,
                                            status=status or None)
    except (ValidationFailed, Conflict) as exc:
        db.rollback()
        problems = [f"{p.field}: {p.rule}" for p in getattr(exc, "problems", [])]
        return _page(request, db, principal, status_code=exc.status_code,
                     problems=problems or [exc.message])
    return redirect("/staff/governance#feedback")
