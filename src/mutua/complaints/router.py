"""/api/v1/calendar: the working-day calendar complaints' due dates count on.

Staff read it; an administrator sets, changes and removes days (audited).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from mutua.auth.roles import STAFF_ROLES, Role
from mutua.auth.security import Principal
from mutua.bounds import Day
from mutua.complaints import calendar_days
from mutua.complaints.calendar import FIRST_DAY, LAST_DAY
from mutua.complaints.models import NAME_LIMIT, SOURCE_LIMIT
from mutua.deps import DbSession, Router, allow

router = Router(prefix="/calendar", tags=["calendar"])
Staff = Annotated[Principal, Depends(allow(*STAFF_ROLES))]
Admin = Annotated[Principal, Depends(allow(Role.ADMIN))]


class CalendarDayIn(BaseModel):
    kind: str = Field(max_length=16, description="holiday | workday (a weekend day worked)")
    name: str = Field(max_length=NAME_LIMIT)
    source: str = Field(default="", max_length=SOURCE_LIMIT)


class CalendarDayOut(CalendarDayIn):
    day: Day


def _out(row) -> CalendarDayOut:
    return CalendarDayOut(day=row.day, kind=row.kind, name=row.name, source=row.source)


@router.get("/days", response_model=list[CalendarDayOut])
def days(db: DbSession, actor: Staff,
         year: Annotated[int, Query(ge=FIRST_DAY.year, le=LAST_DAY.year)]
         ) -> list[CalendarDayOut]:
    """The year's public holidays and worked weekend days (at most 366 rows)."""
    return [_out(r) for r in calendar_days.days_of(db, year=year)]


@router.put("/days/{day}", response_model=CalendarDayOut)
def set_day(day: Day, body: CalendarDayIn, db: DbSession, actor: Admin) -> CalendarDayOut:
    return _out(calendar_days.set_day(db, day=day, kind=body.kind, name=body.name,
                                      source=body.source, actor=actor))


@router.delete("/days/{day}", status_code=204)
def remove_day(day: Day, db: DbSession, actor: Admin) -> None:
    calendar_days.remove_day(db, day=day, actor=actor)
