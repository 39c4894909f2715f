"""Working days in mainland China: Monday to Friday, less public holidays, plus the weekend
days worked in their place (调休) (pure).

The State Council publishes each year's holidays and adjusted working days (国务院办公厅关于
某年部分节假日安排的通知); staff keep them in the ``working_calendar_days`` table
(complaints/calendar_days.py) and the due dates of complaints count on this calendar.

>>> from datetime import date
>>> national_day = WorkingCalendar(
...     holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
...     workdays=frozenset({date(2026, 10, 10)}))
>>> national_day.next_working_day(date(2026, 9, 30))   # Wednesday before the holiday week
datetime.date(2026, 10, 8)
>>> national_day.next_working_day(date(2026, 10, 9))   # Friday: the Saturday is worked
datetime.date(2026, 10, 10)
>>> WEEKDAYS.next_working_day(date(2026, 10, 9))
datetime.date(2026, 10, 12)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

HOLIDAY, WORKDAY = "holiday", "workday"
KINDS = (HOLIDAY, WORKDAY)
# The years a calendar day may be kept for (the quarters the system names: dates.Quarter).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
# No run of holidays and weekends is longer than this; a search past it is a bad calendar.
LONGEST_BREAK = 31


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # weekend days worked

    def is_working(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        nxt = day + timedelta(days=1)
        for _ in range(LONGEST_BREAK):
            if self.is_working(nxt):
                return nxt
            nxt += timedelta(days=1)
        raise ValueError(f"no working day in the {LONGEST_BREAK} days after {day}")


WEEKDAYS = WorkingCalendar()
