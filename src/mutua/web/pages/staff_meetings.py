"""Member consultation meetings for the secretary (/staff/meetings): the meetings past and to
come with their registrations and attendance, and one meeting's page to record who came,
publish the minutes in Chinese and English, and follow the feedback raised there.

Meetings are planned on the governance page; this section runs them once planned.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Form, Query, Request

from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.dates import utcnow
from mutua.deps import MAX_OFFSET, DbSession, PathId, Router, refusal_undone
from mutua.errors import Conflict, ValidationFailed
from mutua.governance import meetings as governance_meetings
from mutua.web.i18n import gettext as _
from mutua.web.pages.staff import open_to
from mutua.web.problems import describe_all, message_words
from mutua.web.render import N_, redirect, render

router = Router(prefix="/staff/meetings")
PAGE = 50
FEEDBACK_PAGE = 20

WHEN = {"": N_("All meetings"), "upcoming": N_("Upcoming"), "past": N_("Past")}
MODE_LABELS = {"in_person": N_("In person"), "online": N_("Online")}
STATUS_LABELS = {"scheduled": N_("Scheduled"), "held": N_("Held")}
FEEDBACK_STATUS = {"open": N_("Open"), "in_progress": N_("In progress"),
                   "answered": N_("Answered"), "done": N_("Done")}
DONE = {"attendance": N_("Attendance is recorded."),
        "minutes": N_("The minutes are published. Members in scope can read them now.")}
# The rules the meeting service may name, so the catalogs carry their translations.
RULES = (N_("tick or type at least one member"),
         N_("must be members registered for this meeting"),
         N_("is not a member number"),
         N_("is not a member of this meeting's project"),
         N_("must be 1 to 20000 characters"),
         N_("attendance is recorded once the meeting has started"),
         N_("minutes are published once the meeting has started"))


@router.get("")
def meeting_list(request: Request, db: DbSession, principal: Principal = open_to("meetings"),
                 when: str = Query("", max_length=10), offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    when = when if when in WHEN else ""
    items, total = governance_meetings.list_meetings(db, actor=principal, limit=PAGE,
                                                     offset=offset, when=when or None)
    counts = governance_meetings.meeting_counts(db, meeting_ids=[m.id for m in items])
    return render(request, "staff/meetings.html", meetings=items, counts=counts, total=total,
                  when=when, when_labels=WHEN, projects=_projects(db),
                  status_labels=STATUS_LABELS, offset=offset, page=PAGE,
                  more=offset + PAGE < total)


def refusal(request: Request, exc: ValidationFailed | Conflict) -> list[str]:
    """The lines a refused form shows: each problem, or the conflict in the reader's words."""
    return describe_all(exc) if getattr(exc, "problems", None) else [message_words(exc)]


def _projects(db) -> dict:
    return {p.id: p for p in catalog_service.list_projects(db)}


def _meeting_page(request, db, principal, meeting_id: int, *, offset: int = 0,
                  feedback_offset: int = 0, problems=None, form=None, status_code=200):
    meeting = governance_meetings.get_meeting(db, meeting_id=meeting_id, actor=principal)
    registered, total = governance_meetings.registered_members(
        db, meeting_id=meeting_id, limit=PAGE, offset=offset)
    counts = governance_meetings.meeting_counts(db, meeting_ids=[meeting_id])
    feedback, feedback_total = governance_meetings.list_feedback(
        db, actor=principal, meeting_id=meeting_id, limit=FEEDBACK_PAGE, offset=feedback_offset)
    done = request.query_params.get("done")
    return render(request, "staff/meeting.html", status_code=status_code, meeting=meeting,
                  project=_projects(db).get(meeting.project_id), registered=registered,
                  counts=counts.get(meeting_id, (0, 0)), total=total, offset=offset,
                  page=PAGE, more=offset + PAGE < total, feedback=feedback,
                  feedback_total=feedback_total, feedback_offset=feedback_offset,
                  feedback_page=FEEDBACK_PAGE, feedback_status=FEEDBACK_STATUS,
                  mode_labels=MODE_LABELS, status_labels=STATUS_LABELS,
                  limit=governance_meetings.MINUTES_LIMIT, started=meeting.starts_at <= utcnow(),
                  problems=problems or {},
                  form=form or {}, done=_(DONE[done]) if done in DONE else None)


@router.get("/{meeting_id}")
def meeting_page(meeting_id: PathId, request: Request, db: DbSession,
                 principal: Principal = open_to("meetings"), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                 feedback_offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    return _meeting_page(request, db, principal, meeting_id, offset=offset,
                         feedback_offset=feedback_offset)


def member_numbers(text: str) -> list[str]:
    """The member numbers typed one a line (commas and spaces also separate them).

    >>> member_numbers("M000000001\\n m000000002 ,M000000001")
    ['M000000001', 'M000000002', 'M000000001']
    """
    return [n.upper() for n in re.split(r"[\s,，、;；]+", text) if n]


@router.post("/{meeting_id}/attendance")
def record_attendance(meeting_id: PathId, request: Request, db: DbSession,
                      principal: Principal = open_to("meetings"),
                      attended: Annotated[list[int], Form(max_length=100_000)] = (),
                      numbers: Annotated[str, Form(max_length=100_000)] = ""):
    try:
        with refusal_undone(db):
            governance_meetings.record_attendance_of(db, meeting_id=meeting_id, actor=principal,
                                                     member_ids=list(attended),
                                                     member_numbers=member_numbers(numbers))
    except (ValidationFailed, Conflict) as exc:
        return _meeting_page(request, db, principal, meeting_id, status_code=exc.status_code,
                             problems={"attendance": refusal(request, exc)},
                             form={"numbers": numbers, "attended": set(attended)})
    return redirect(f"/staff/meetings/{meeting_id}?done=attendance#attendance")


@router.post("/{meeting_id}/minutes")
def publish_minutes(meeting_id: PathId, request: Request, db: DbSession,
                    principal: Principal = open_to("meetings"),
                    minutes_zh: Annotated[str, Form(max_length=40_000)] = "",
                    minutes_en: Annotated[str, Form(max_length=40_000)] = ""):
    try:
        with refusal_undone(db):
            governance_meetings.publish_bilingual_minutes(
                db, meeting_id=meeting_id, minutes_zh=minutes_zh, minutes_en=minutes_en,
                actor=principal)
    except (ValidationFailed, Conflict) as exc:
        return _meeting_page(request, db, principal, meeting_id, status_code=exc.status_code,
                             problems={"minutes": refusal(request, exc)},
                             form={"minutes_zh": minutes_zh, "minutes_en": minutes_en,
                                   "editing": True})
    return redirect(f"/staff/meetings/{meeting_id}?done=minutes#minutes")
