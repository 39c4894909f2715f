"""Staff keep the working-day calendar: public holidays and adjusted working days (调休).

One row per day that differs from Monday-to-Friday (complaints.models.CalendarDay), set,
changed and removed by an administrator (CLI ``mutua calendar``, API ``/api/v1/calendar``),
each change audited; ``seed`` writes the published schedule (complaints/holidays_cn.py)
without touching a day staff have set. ``working_calendar`` is what due dates count on.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.complaints import holidays_cn
from mutua.complaints.calendar import FIRST_DAY, KINDS, LAST_DAY, WORKDAY, WorkingCalendar
from mutua.complaints.models import NAME_LIMIT, SOURCE_LIMIT, CalendarDay
from mutua.dates import utcnow
from mutua.errors import Forbidden, NotFound, Problem, ValidationFailed, Worded

WORKDAY_ON_A_WEEKDAY = Worded("a working day in place of a holiday must be a Saturday or Sunday")
# Due dates look this far ahead; longer than any run of days off.
WINDOW_DAYS = 62


def working_calendar(db: Session, *, start: date, days: int = WINDOW_DAYS) -> WorkingCalendar:
    """The calendar's holidays and worked weekend days from ``start`` for ``days`` days."""
    rows = db.execute(select(CalendarDay.day, CalendarDay.kind).where(
        CalendarDay.day >= start, CalendarDay.day <= start + timedelta(days=days))).all()
    return WorkingCalendar(holidays=frozenset(d for d, k in rows if k != WORKDAY),
                           workdays=frozenset(d for d, k in rows if k == WORKDAY))


def days_of(db: Session, *, year: int) -> list[CalendarDay]:
    _check_year(year)
    return list(db.scalars(select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)))


def set_day(db: Session, *, day: date, kind: str, name: str, source: str = "",
            actor: Principal) -> CalendarDay:
    """Mark ``day`` as a holiday or a worked weekend day (or change what it was)."""
    _check_admin(actor)
    name, source = (name or "").strip(), (source or "").strip()
    problems = _day_problems(day)
    if kind not in KINDS:
        problems.append(Problem("kind", "must be one of %(choices)s", choices=", ".join(KINDS)))
    elif kind == WORKDAY and day.weekday() < 5:
        problems.append(Problem("kind", WORKDAY_ON_A_WEEKDAY))
    if not 0 < len(name) <= NAME_LIMIT:
        problems.append(Problem("name", "must be 1 to %(limit)s characters", limit=NAME_LIMIT))
    if len(source) > SOURCE_LIMIT:
        problems.append(Problem("source", "must be at most %(limit)s characters", limit=SOURCE_LIMIT))
    if problems:
        raise ValidationFailed(problems)
    row = db.get(CalendarDay, day) or CalendarDay(day=day)
    before = None if row.kind is None else {"kind": row.kind, "name": row.name}
    row.kind, row.name, row.source = kind, name, source
    row.updated_at, row.updated_by = utcnow(), actor.username
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="calendar.set", entity="calendar_day", entity_id=day.isoformat(),
                 detail={"day": day.isoformat(), "kind": kind, "name": name, "before": before})
    return row


def remove_day(db: Session, *, day: date, actor: Principal) -> None:
    """``day`` is an ordinary day again (a weekday works, a weekend day is off)."""
    _check_admin(actor)
    row = db.get(CalendarDay, day)
    if row is None:
        raise NotFound("%(day)s is not in the calendar", day=day)
    db.delete(row)
    db.flush()
    audit.record(db, actor=actor, action="calendar.remove", entity="calendar_day",
                 entity_id=day.isoformat(), detail={"day": day.isoformat(), "kind": row.kind,
                                         "name": row.name})


def seed(db: Session, *, actor: Principal) -> int:
    """Write the published schedule's days that are not in the table yet; how many."""
    _check_admin(actor)
    have = set(db.scalars(select(CalendarDay.day)))
    new = [CalendarDay(day=day, kind=kind, name=name, source=source, updated_at=utcnow(),
                       updated_by=actor.username)
           for day, kind, name, source in holidays_cn.SEED if day not in have]
    db.add_all(new)
    db.flush()
    audit.record(db, actor=actor, action="calendar.seed", entity="calendar_day",
                 entity_id=holidays_cn.SOURCE_2026, detail={"added": len(new)})
    return len(new)


def _day_problems(day: date) -> list[Problem]:
    if not FIRST_DAY <= day <= LAST_DAY:
        return [Problem("day", "must be between %(low)s and %(high)s", low=FIRST_DAY, high=LAST_DAY)]
    return []


def _check_year(year: int) -> None:
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise ValidationFailed("year", "must be between %(low)s and %(high)s",
                               low=FIRST_DAY.year, high=LAST_DAY.year)


def _check_admin(actor: Principal) -> None:
    if actor.role is not Role.ADMIN:
        raise Forbidden("only an administrator keeps the working-day calendar")
