"""Member consultation meetings (会员恳谈会) and the feedback they raise.

Staff schedule a meeting (in person or online, for one project or the whole mutual);
members in scope register; attendance is recorded; minutes are published; every piece
of feedback becomes an item with an owner, a response and a status that only moves
forward: ``open -> in_progress -> answered -> done``. Members in scope see the items
(never who raised them, unless it was themselves).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.models import Project
from mutua.claims.service import mask_name
from mutua.dates import utcnow
from mutua.db import one_of
from mutua.errors import Conflict, Forbidden, NotFound, ProblemCollector, ValidationFailed
from mutua.governance.models import (
    FEEDBACK_LIMIT,
    MINUTES_LIMIT,
    OWNER_LIMIT,
    FeedbackItem,
    Meeting,
    MeetingRegistration,
)
from mutua.governance.service import in_scope
from mutua.members.identifiers import canonical_text, member_number_or_none
from mutua.members.models import Member
from mutua.policies import membership

MODES = ("in_person", "online")
FEEDBACK_FLOW = ("open", "in_progress", "answered", "done")


def schedule_meeting(db: Session, *, project_id: int | None, title_zh: str, title_en: str,
                     mode: str, place: str, starts_at: datetime, actor: Principal,
                     capacity: int | None = None) -> Meeting:
    problems = ProblemCollector()
    if mode not in MODES:
        problems.add("mode", "must be in_person or online")
    for name, text, limit in (("title_zh", title_zh, 200), ("title_en", title_en, 300),
                              ("place", place, 300)):
        if not (text or "").strip() or len(text) > limit:
            problems.add(name, "must be 1 to %(limit)s characters", limit=limit)
    if starts_at.tzinfo is None:
        problems.add("starts_at", "must carry a timezone")
    if capacity is not None and capacity < 1:
        problems.add("capacity", "must be at least 1 when given")
    problems.raise_if_any()
    meeting = Meeting(project_id=project_id, title_zh=title_zh.strip(), title_en=title_en.strip(),
                      mode=mode, place=place.strip(), starts_at=starts_at, capacity=capacity,
                      created_by=actor.username)
    db.add(meeting)
    db.flush()
    audit.record(db, actor=actor, action="meeting.schedule", entity="meeting",
                 entity_id=meeting.id, project_id=project_id, detail={"mode": mode})
    return meeting


def get_meeting(db: Session, *, meeting_id: int, actor: Principal) -> Meeting:
    meeting = db.get(Meeting, meeting_id)
    if meeting is None or (actor.is_member and not in_scope(
            db, member_id=actor.member_id or 0, project_id=meeting.project_id)):
        raise NotFound("meeting %(meeting_id)s not found", meeting_id=meeting_id)
    return meeting


def register(db: Session, *, meeting_id: int, actor: Principal) -> MeetingRegistration:
    """The acting member registers for a meeting of their scope, once."""
    if not actor.is_member:
        raise Forbidden("members register themselves")
    meeting = get_meeting(db, meeting_id=meeting_id, actor=actor)
    if meeting.status != "scheduled":
        raise Conflict("registration has closed: the meeting has been held")
    if db.get(MeetingRegistration, (meeting_id, actor.member_id)) is not None:
        raise Conflict("you are already registered for this meeting")
    if meeting.capacity is not None and registrations(db, meeting_id=meeting_id) >= \
            meeting.capacity:
        raise Conflict("the meeting is full")
    reg = MeetingRegistration(meeting_id=meeting_id, member_id=actor.member_id)
    db.add(reg)
    db.flush()
    audit.record(db, actor=actor, action="meeting.register", entity="meeting",
                 entity_id=meeting_id, project_id=meeting.project_id)
    return reg


def registrations(db: Session, *, meeting_id: int) -> int:
    return db.scalar(select(func.count()).select_from(MeetingRegistration)
                     .where(MeetingRegistration.meeting_id == meeting_id)) or 0


def record_attendance(db: Session, *, meeting_id: int, member_ids: list[int],
                      actor: Principal) -> int:
    """Mark registered members present (one UPDATE); the meeting counts as held."""
    meeting = get_meeting(db, meeting_id=meeting_id, actor=actor)
    marked = db.execute(update(MeetingRegistration)
                        .where(MeetingRegistration.meeting_id == meeting_id,
                               MeetingRegistration.member_id.in_(member_ids))
                        .values(attended=True)).rowcount if member_ids else 0
    meeting.status = "held"
    audit.record(db, actor=actor, action="meeting.attendance", entity="meeting",
                 entity_id=meeting_id, project_id=meeting.project_id,
                 detail={"attended": marked})
    return marked


def publish_minutes(db: Session, *, meeting_id: int, minutes_zh: str, minutes_en: str,
                    actor: Principal) -> Meeting:
    meeting = get_meeting(db, meeting_id=meeting_id, actor=actor)
    if not (minutes_zh or "").strip() and not (minutes_en or "").strip():
        raise ValidationFailed("minutes_zh", "minutes need some text in Chinese or English")
    meeting.minutes_zh = minutes_zh
    meeting.minutes_en = minutes_en
    meeting.minutes_published_at = utcnow()
    meeting.status = "held"
    audit.record(db, actor=actor, action="meeting.minutes", entity="meeting",
                 entity_id=meeting_id, project_id=meeting.project_id)
    return meeting


def list_meetings(db: Session, *, actor: Principal, limit: int = 50, offset: int = 0,
                  when: str | None = None) -> tuple[list[Meeting], int]:
    """Meetings, latest first; ``when="upcoming"`` gives those still to start, soonest first,
    ``when="past"`` those that have started."""
    stmt = select(Meeting)
    if actor.is_member:
        stmt = stmt.where(_scope_filter(Meeting.project_id, actor.member_id or 0))
    order = (Meeting.starts_at.desc(), Meeting.id.desc())
    if when == "upcoming":
        stmt = stmt.where(Meeting.starts_at >= utcnow())
        order = (Meeting.starts_at.asc(), Meeting.id.asc())
    elif when == "past":
        stmt = stmt.where(Meeting.starts_at < utcnow())
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(db.scalars(stmt.order_by(*order).limit(limit).offset(offset)))
    return items, total


def _scope_filter(project_col, member_id: int):
    return project_col.is_(None) | membership.member_of(member_id, project_col)


# --- the secretary's meeting page and the member's record --------------------------------


def meeting_counts(db: Session, *, meeting_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(registered, attended) for each meeting of a page, in one GROUP BY.

    Meetings nobody registered for are absent: read them as (0, 0)."""
    if not meeting_ids:
        return {}
    reg = MeetingRegistration
    rows = db.execute(select(reg.meeting_id, func.count(),
                             func.sum(case((reg.attended.is_(True), 1), else_=0)))
                      .where(reg.meeting_id.in_(meeting_ids)).group_by(reg.meeting_id))
    return {m: (int(n), int(a or 0)) for m, n, a in rows}


def registered_members(db: Session, *, meeting_id: int, limit: int = 50, offset: int = 0
                       ) -> tuple[list[dict], int]:
    """Who registered, by member number, with the name masked (张*) and whether they came."""

    reg = MeetingRegistration
    where = reg.meeting_id == meeting_id
    total = db.scalar(select(func.count()).select_from(reg).where(where)) or 0
    rows = db.execute(select(Member.id, Member.member_number, Member.name, reg.attended)
                      .join(Member, Member.id == reg.member_id).where(where)
                      .order_by(Member.member_number).limit(limit).offset(offset))
    return [{"member_id": i, "member_number": number, "name": mask_name(name),
             "attended": bool(came)} for i, number, name, came in rows], total


def _started(meeting: Meeting) -> bool:
    return meeting.starts_at <= utcnow()


def _as_member_number(text: str) -> str:
    """A typed member number in its stored form ("ｍ000000012" is M000000012); text that is
    no member number is kept as typed, to be named in the refusal."""
    return member_number_or_none(text) or canonical_text(text)


def _member_ids_by_number(db: Session, numbers: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(numbers), 5000):
        chunk = numbers[start:start + 5000]
        found.update(db.execute(select(Member.member_number, Member.id)
                                .where(one_of(db, Member.member_number, chunk))).all())
    return found


def _outside_project(db: Session, project_id: int | None, member_ids: list[int]) -> set[int]:
    """The members who never held a policy in the project (none, for a mutual-wide meeting)."""
    if project_id is None or not member_ids:
        return set()
    return set(member_ids) - membership.members_among(db, project_id=project_id,
                                                      member_ids=member_ids)


def record_attendance_of(db: Session, *, meeting_id: int, actor: Principal,
                         member_ids: list[int] = (), member_numbers: list[str] = ()) -> int:
    """Attendance as the secretary records it: registered members ticked, and member numbers
    typed from the sign-in sheet. A typed member in the meeting's scope who had not
    registered came anyway (a walk-in) and is registered now.

    Every typed number must be a member of the meeting's project (any member, for a
    mutual-wide meeting); a refusal names each number and stores nothing. Returns how many
    were marked present.
    """
    meeting = get_meeting(db, meeting_id=meeting_id, actor=actor)
    if not _started(meeting):
        raise Conflict("attendance is recorded once the meeting has started")
    ticked = set(member_ids)
    numbers = list(dict.fromkeys(_as_member_number(n) for n in member_numbers if n.strip()))
    problems = ProblemCollector()
    if not ticked and not numbers:
        problems.add("attended", "tick or type at least one member")
    registered = set(db.scalars(select(MeetingRegistration.member_id).where(
        MeetingRegistration.meeting_id == meeting_id)))
    if ticked - registered:
        problems.add("attended", "must be members registered for this meeting")
    found = _member_ids_by_number(db, numbers)
    outside = _outside_project(db, meeting.project_id, list(found.values()))
    for number in numbers:
        if number not in found:
            problems.add(f"member_numbers.{number}", "is not a member number")
        elif found[number] in outside:
            problems.add(f"member_numbers.{number}", "is not a member of this meeting's project")
    problems.raise_if_any()
    walk_ins = sorted(set(found.values()) - registered)
    if walk_ins:
        db.execute(insert(MeetingRegistration), [
            {"meeting_id": meeting_id, "member_id": m, "registered_at": utcnow(),
             "attended": False}
            for m in walk_ins])
        audit.record(db, actor=actor, action="meeting.walk_in", entity="meeting",
                     entity_id=meeting_id, project_id=meeting.project_id,
                     detail={"walk_ins": len(walk_ins)})
    return record_attendance(db, meeting_id=meeting_id, actor=actor,
                             member_ids=sorted(ticked | set(found.values())))


def publish_bilingual_minutes(db: Session, *, meeting_id: int, minutes_zh: str,
                              minutes_en: str, actor: Principal) -> Meeting:
    """Publish (or amend) the minutes (会议纪要) in both languages, each 1 to 20,000
    characters, once the meeting has started."""
    meeting = get_meeting(db, meeting_id=meeting_id, actor=actor)
    problems = ProblemCollector()
    for name, text in (("minutes_zh", minutes_zh), ("minutes_en", minutes_en)):
        if not (text or "").strip() or len(text) > MINUTES_LIMIT:
            problems.add(name, "must be 1 to %(limit)s characters", limit=MINUTES_LIMIT)
    problems.raise_if_any()
    if not _started(meeting):
        raise Conflict("minutes are published once the meeting has started")
    return publish_minutes(db, meeting_id=meeting_id, minutes_zh=minutes_zh.strip(),
                           minutes_en=minutes_en.strip(), actor=actor)


def my_meetings(db: Session, *, member_id: int, meeting_ids: list[int]) -> dict[int, bool]:
    """For the member's own page: meeting id -> attended, for the meetings they registered for."""
    if not meeting_ids:
        return {}
    rows = db.execute(select(MeetingRegistration.meeting_id, MeetingRegistration.attended)
                      .where(MeetingRegistration.member_id == member_id,
                             MeetingRegistration.meeting_id.in_(meeting_ids)))
    return {m: bool(a) for m, a in rows}


# --- feedback ---------------------------------------------------------------------------


def raise_feedback(db: Session, *, text: str, actor: Principal, meeting_id: int | None = None,
                   project_id: int | None = None, owner: str | None = None) -> FeedbackItem:
    """A new feedback item: from a member, or noted by staff at a meeting."""
    if not (text or "").strip() or len(text) > FEEDBACK_LIMIT:
        raise ValidationFailed("text", "must be 1 to %(limit)s characters", limit=FEEDBACK_LIMIT)
    owner = _owner(owner)
    if meeting_id is not None:
        meeting = get_meeting(db, meeting_id=meeting_id, actor=actor)
        project_id = meeting.project_id
    elif project_id is not None and db.get(Project, project_id) is None:
        raise NotFound("project %(project_id)s not found", project_id=project_id)
    elif actor.is_member and project_id is not None and not in_scope(
            db, member_id=actor.member_id or 0, project_id=project_id):
        raise Forbidden("you may give feedback to your own projects")
    item = FeedbackItem(project_id=project_id, source="meeting" if meeting_id else "member",
                        meeting_id=meeting_id, text=text.strip(), owner=owner,
                        member_id=actor.member_id if actor.is_member else None)
    db.add(item)
    db.flush()
    audit.record(db, actor=actor, action="feedback.raise", entity="feedback",
                 entity_id=item.id, project_id=project_id, detail={"source": item.source})
    return item


def _owner(owner: str | None) -> str | None:
    """Who answers a feedback item: a staff username or a team, at most 64 characters."""
    if owner is not None and len(owner.strip()) > OWNER_LIMIT:
        raise ValidationFailed("owner", "must be at most %(limit)s characters", limit=OWNER_LIMIT)
    return (owner or "").strip() or None


def update_feedback(db: Session, *, item_id: int, actor: Principal, owner: str | None = None,
                    response: str | None = None, status: str | None = None) -> FeedbackItem:
    """Assign an owner, write the response, move the status forward (never back)."""
    item = db.get(FeedbackItem, item_id)
    if item is None:
        raise NotFound("feedback %(item_id)s not found", item_id=item_id)
    if status is not None:
        if status not in FEEDBACK_FLOW:
            raise ValidationFailed("status", "must be one of %(choices)s", choices=", ".join(FEEDBACK_FLOW))
        if FEEDBACK_FLOW.index(status) < FEEDBACK_FLOW.index(item.status):
            raise Conflict("feedback is %(status)s; its status only moves forward", status=item.status)
        if status in ("answered", "done") and not ((response or item.response or "").strip()):
            raise ValidationFailed("response", "is required before the item is %(status)s", status=status)
        if status != "open" and not (owner or item.owner):
            raise ValidationFailed("owner", "assign an owner before work starts")
    if response is not None and len(response) > FEEDBACK_LIMIT:
        raise ValidationFailed("response", "must be at most %(limit)s characters", limit=FEEDBACK_LIMIT)
    if owner is not None:
        item.owner = _owner(owner)
    if response is not None:
        item.response = response.strip()
    if status is not None:
        item.status = status
    item.updated_at = utcnow()
    audit.record(db, actor=actor, action="feedback.update", entity="feedback",
                 entity_id=item.id, project_id=item.project_id, detail={"status": item.status})
    return item


def list_feedback(db: Session, *, actor: Principal, project_id: int | None = None,
                  meeting_id: int | None = None, status: str | None = None,
                  statuses: tuple[str, ...] = (), limit: int = 50, offset: int = 0
                  ) -> tuple[list[FeedbackItem], int]:
    """Feedback items, newest first; ``statuses`` keeps any of several (e.g. the unanswered)."""
    stmt = select(FeedbackItem)
    if statuses:
        stmt = stmt.where(FeedbackItem.status.in_(statuses))
    if project_id is not None:
        stmt = stmt.where(FeedbackItem.project_id == project_id)
    if meeting_id is not None:
        stmt = stmt.where(FeedbackItem.meeting_id == meeting_id)
    if status:
        stmt = stmt.where(FeedbackItem.status == status)
    if actor.is_member:
        # follow-ups of ratings are between the member and staff; the rest is public in scope
        stmt = stmt.where(_scope_filter(FeedbackItem.project_id, actor.member_id or 0),
                          (FeedbackItem.source != "rating")
                          | (FeedbackItem.member_id == actor.member_id))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(db.scalars(stmt.order_by(FeedbackItem.id.desc()).limit(limit).offset(offset)))
    return items, total
