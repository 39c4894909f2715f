"""Complaints: a member files one (about a claim, a service, a decision...), it gets a
reference, due dates and an owner, and is answered; staff see the overdue ones, and a
report counts them by cause per quarter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from mutua import numbering
from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.claims import service as claims_service
from mutua.complaints import calendar_days, timeline
from mutua.complaints.models import ANSWER_LIMIT, TEXT_LIMIT, Complaint
from mutua.dates import Quarter, utcnow
from mutua.dates import today as shanghai_today
from mutua.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from mutua.members import accounts
from mutua.notify import service as notify

CAUSES = ("claim", "decision", "service", "premium", "other")
# Who handles complaints: the claims team (most are about claims) and the secretary's office.
HANDLERS = (Role.CLAIMS, Role.SECRETARY)
OPEN = ("received", "acknowledged")
LIST_LIMIT = 200


def file(db: Session, *, actor: Principal, cause: str, text: str,
         claim_id: int | None = None, on: date | None = None) -> Complaint:
    """A member files a complaint; it is due to be acknowledged and answered from today."""
    if not actor.is_member:
        raise Forbidden("members file their own complaints")
    text = (text or "").strip()
    problems = []
    if cause not in CAUSES:
        problems.append(Problem("cause", "must be one of %(choices)s", choices=", ".join(CAUSES)))
    if not 0 < len(text) <= TEXT_LIMIT:
        problems.append(Problem("text", "must be 1 to %(limit)s characters", limit=TEXT_LIMIT))
    if problems:
        raise ValidationFailed(problems)
    project_id = _project_of_claim(db, claim_id, actor) if claim_id else None
    on = on or shanghai_today()
    number = numbering.reserve_now(db, "complaint")[0]
    complaint = Complaint(
        reference=f"TS{number:09d}", project_id=project_id, member_id=actor.member_id,
        cause=cause, claim_id=claim_id, text=text, status="received", received_at=utcnow(),
        received_on=on, quarter=str(Quarter.of(on)),
        acknowledge_due_on=timeline.acknowledge_by(
            on, calendar_days.working_calendar(db, start=on)), answer_due_on=timeline.answer_by(on))
    db.add(complaint)
    db.flush()
    audit.record(db, actor=actor, action="complaint.file", entity="complaint",
                 entity_id=complaint.id, project_id=project_id, detail={"cause": cause})
    return complaint


def _project_of_claim(db: Session, claim_id: int, actor: Principal) -> int:
    try:
        claim = claims_service.get(db, claim_id=claim_id, actor=actor)
    except (NotFound, Forbidden):
        raise ValidationFailed("claim_id", "is not one of your claims") from None
    return claim.project_id


def get(db: Session, *, complaint_id: int, actor: Principal) -> Complaint:
    complaint = db.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("no complaint %(complaint_id)s", complaint_id=complaint_id)
    actor.require_member_or_staff(complaint.member_id, *HANDLERS)
    return complaint


def _open_one(db: Session, complaint_id: int, actor: Principal) -> Complaint:
    _require_handler(actor)
    complaint = get(db, complaint_id=complaint_id, actor=actor)
    if complaint.status not in OPEN:
        raise Conflict("complaint %(reference)s is answered already", reference=complaint.reference)
    return complaint


def _require_handler(actor: Principal) -> None:
    if not actor.is_staff or (actor.role is not Role.ADMIN and actor.role not in HANDLERS):
        raise Forbidden("only the complaints team handles complaints")


def assign(db: Session, *, complaint_id: int, owner: str, actor: Principal) -> Complaint:
    """Give the complaint an owner: an active user of the complaints team."""
    complaint = _open_one(db, complaint_id, actor)
    handlers = {p.username: p for p in accounts.active_staff(db, roles=(*HANDLERS,
                                                                             Role.ADMIN))}
    chosen = handlers.get((owner or "").strip())
    if chosen is None:
        raise ValidationFailed("owner", "is not an active user of the complaints team")
    complaint.owner_id, complaint.owner_name = chosen.user_id, chosen.username
    audit.record(db, actor=actor, action="complaint.assign", entity="complaint",
                 entity_id=complaint.id, project_id=complaint.project_id,
                 detail={"owner": chosen.username})
    return complaint


def acknowledge(db: Session, *, complaint_id: int, actor: Principal) -> Complaint:
    complaint = _open_one(db, complaint_id, actor)
    if complaint.status == "acknowledged":
        raise Conflict("complaint %(reference)s is acknowledged already", reference=complaint.reference)
    complaint.status, complaint.acknowledged_at = "acknowledged", utcnow()
    if complaint.owner_id is None:  # who acknowledges it owns it until it is given on
        complaint.owner_id, complaint.owner_name = actor.user_id, actor.username
    audit.record(db, actor=actor, action="complaint.acknowledge", entity="complaint",
                 entity_id=complaint.id, project_id=complaint.project_id)
    return complaint


def extend(db: Session, *, complaint_id: int, reason: str, actor: Principal) -> Complaint:
    """A complex case: the answer is due 30 days after receipt instead of 15 (once)."""
    complaint = _open_one(db, complaint_id, actor)
    reason = (reason or "").strip()
    if not 0 < len(reason) <= TEXT_LIMIT:
        raise ValidationFailed("reason", "must be 1 to %(limit)s characters", limit=TEXT_LIMIT)
    if complaint.extension_reason:
        raise Conflict("complaint %(reference)s was extended already", reference=complaint.reference)
    complaint.answer_due_on = timeline.answer_by(complaint.received_on, extended=True)
    complaint.extension_reason = reason
    audit.record(db, actor=actor, action="complaint.extend", entity="complaint",
                 entity_id=complaint.id, project_id=complaint.project_id)
    return complaint


def answer(db: Session, *, complaint_id: int, text: str, actor: Principal,
           on: date | None = None) -> Complaint:
    """The written answer; the member is told."""
    complaint = _open_one(db, complaint_id, actor)
    text = (text or "").strip()
    if not 0 < len(text) <= ANSWER_LIMIT:
        raise ValidationFailed("answer", "must be 1 to %(limit)s characters", limit=ANSWER_LIMIT)
    now = utcnow()
    complaint.status, complaint.answer = "answered", text
    complaint.answered_at, complaint.answered_on = now, on or shanghai_today()
    complaint.answered_by = actor.username
    if complaint.acknowledged_at is None:
        complaint.acknowledged_at = now
    audit.record(db, actor=actor, action="complaint.answer", entity="complaint",
                 entity_id=complaint.id, project_id=complaint.project_id)

    notify.tell(db, member_id=complaint.member_id, project_id=complaint.project_id,
                event="complaint.answered", ref_id=complaint.id, ref_text=complaint.reference)
    return complaint


# --- reading -------------------------------------------------------------------------------

def overdue(on: date) -> list:
    """Conditions of a complaint past a due day: not acknowledged by its day, or not
    answered by its day (one home for the list's filter and the dashboard's count)."""
    return [or_(and_(Complaint.status == "received", Complaint.acknowledge_due_on < on),
                and_(Complaint.status.in_(OPEN), Complaint.answer_due_on < on))]


def overdue_count(db: Session, *, on: date | None = None) -> int:
    return db.scalar(select(func.count()).select_from(Complaint)
                     .where(*overdue(on or shanghai_today()))) or 0


def for_member(db: Session, *, actor: Principal) -> list[Complaint]:
    return list(db.scalars(select(Complaint).where(Complaint.member_id == actor.member_id)
                           .order_by(Complaint.id.desc()).limit(LIST_LIMIT)))


def queue(db: Session, *, actor: Principal, status: str = "open",
          on: date | None = None) -> list[Complaint]:
    """The team's list: overdue first, then by the day the answer is due."""
    _require_handler(actor)
    on = on or shanghai_today()
    q = select(Complaint)
    if status == "overdue":
        q = q.where(*overdue(on))
    elif status == "open":
        q = q.where(Complaint.status.in_(OPEN))
    elif status == "mine":
        q = q.where(Complaint.status.in_(OPEN), Complaint.owner_id == actor.user_id)
    late = case((and_(Complaint.status.in_(OPEN), Complaint.answer_due_on < on), 0), else_=1)
    return list(db.scalars(q.order_by(late, Complaint.answer_due_on, Complaint.id)
                           .limit(LIST_LIMIT)))


def is_overdue(complaint: Complaint, on: date) -> bool:
    return (complaint.status == "received" and complaint.acknowledge_due_on < on) or (
        complaint.status in OPEN and complaint.answer_due_on < on)


@dataclass(frozen=True)
class QuarterCounts:
    quarter: str
    by_cause: dict[str, int]
    answered: int
    answered_late: int

    @property
    def total(self) -> int:
        return sum(self.by_cause.values())


def counts_by_quarter(db: Session, *, actor: Principal) -> Sequence[QuarterCounts]:
    """Complaints received per quarter by cause, with how many were answered and how many
    of those after their due day: one GROUP BY."""
    _require_handler(actor)
    late = and_(Complaint.answered_on.is_not(None),
                Complaint.answered_on > Complaint.answer_due_on)
    rows = db.execute(select(Complaint.quarter, Complaint.cause, func.count(),
                             func.count(Complaint.answered_on),
                             func.sum(case((late, 1), else_=0)))
                      .group_by(Complaint.quarter, Complaint.cause)
                      .order_by(Complaint.quarter.desc())).all()
    out: dict[str, dict] = {}
    for quarter, cause, n, answered, answered_late in rows:
        q = out.setdefault(quarter, {"by_cause": dict.fromkeys(CAUSES, 0), "answered": 0,
                                     "late": 0})
        q["by_cause"][cause] = n
        q["answered"] += answered
        q["late"] += answered_late or 0
    return [QuarterCounts(quarter, q["by_cause"], q["answered"], q["late"])
            for quarter, q in out.items()]
