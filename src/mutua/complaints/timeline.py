"""When a complaint must be acknowledged and answered (pure).

- Acknowledged by the end of the next working day: Monday to Friday, less public holidays,
  plus the weekend days worked in their place (调休), as the working-day calendar staff keep
  says (complaints/calendar.py; without one, Monday to Friday).
- Answered within ``ANSWER_DAYS`` (15) calendar days of receipt, extendable once to
  ``EXTENDED_DAYS`` (30) for a complex case with a written reason: 银行业保险业消费投诉处理
  管理办法 (CBIRC Order 2020 No. 3), art. 19 — 15 days for a clear, simple complaint, up to
  30 for a complex one. The products' terms state no shorter time today; a product that
  does would shorten ``answer_days``.

>>> from datetime import date
>>> acknowledge_by(date(2026, 12, 4))   # a Friday: due Monday
datetime.date(2026, 12, 7)
>>> answer_by(date(2026, 12, 4)), answer_by(date(2026, 12, 4), extended=True)
(datetime.date(2026, 12, 19), datetime.date(2027, 1, 3))
"""

from __future__ import annotations

from datetime import date, timedelta

from mutua.complaints.calendar import WEEKDAYS, WorkingCalendar

ANSWER_DAYS = 15
EXTENDED_DAYS = 30


def acknowledge_by(received_on: date, calendar: WorkingCalendar = WEEKDAYS) -> date:
    return calendar.next_working_day(received_on)


def answer_by(received_on: date, *, extended: bool = False,
              answer_days: int = ANSWER_DAYS) -> date:
    return received_on + timedelta(days=EXTENDED_DAYS if extended else answer_days)
