"""When a reported event can have happened: the date and time rules of a first notice.

Pure: the caller passes today's date and the current time. A report breaking one of these is
refused at the door (nothing stored), because the facts cannot be true; whether true facts
are covered is the engine's business (:mod:`mutua.claims.adjudication`).

- the event date is not in the future and falls within the policy's cover;
- an event time, if given, falls on the event date (Shanghai time) and is not in the future;
- the time symptoms began and the time of death are not in the future, the death not before
  the symptoms nor before the event's time, and both within the event's window: from the
  day before the event date (symptoms that began late the evening before) to 180 days after
  it (accident cover pays a death within 180 days of the accident, 自意外伤害发生之日起180日内,
  the usual clause of Chinese accident policies).

>>> from datetime import date, datetime
>>> from mutua.dates import SHANGHAI
>>> problems = check_times(event_date=date(2026, 3, 1), event_at=None,
...     items=[ItemTimes(symptoms_began_at=None,
...                      died_at=datetime(1900, 1, 1, tzinfo=SHANGHAI))],
...     cover_start=date(2026, 1, 1), cover_end=date(2026, 12, 31), today=date(2026, 3, 5),
...     now=datetime(2026, 3, 5, 9, tzinfo=SHANGHAI))
>>> problems
[('items[0].died_at', "must be within the event's window 2026-02-28 to 2026-08-28")]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from mutua.dates import SHANGHAI
from mutua.errors import Worded

DAYS_BEFORE_EVENT = 1
DAYS_AFTER_EVENT = 180


@dataclass(frozen=True)
class ItemTimes:
    symptoms_began_at: datetime | None
    died_at: datetime | None


def event_window(event_date: date) -> tuple[datetime, datetime]:
    """[start, end) of the times a report may give for the event, in Shanghai time.

    >>> start, end = event_window(date(2026, 3, 1))
    >>> start.isoformat(), end.isoformat()
    ('2026-02-28T00:00:00+08:00', '2026-08-29T00:00:00+08:00')
    """
    first = event_date - timedelta(days=DAYS_BEFORE_EVENT)
    after_last = event_date + timedelta(days=DAYS_AFTER_EVENT + 1)
    return (datetime.combine(first, time(), SHANGHAI),
            datetime.combine(after_last, time(), SHANGHAI))


def check_times(*, event_date: date, event_at: datetime | None, items: Sequence[ItemTimes],
                cover_start: date, cover_end: date, today: date,
                now: datetime) -> list[tuple[str, str]]:
    """Every date and time problem of a report, as (field, rule) pairs."""
    problems: list[tuple[str, str]] = []
    if event_date > today:
        problems.append(("event_date", Worded("must not be in the future")))
    elif not cover_start <= event_date <= cover_end:
        problems.append(("event_date",
                         Worded("is outside the policy's cover %(start)s to %(end)s",
                                start=cover_start, end=cover_end)))
    if event_at is not None:
        if event_at.astimezone(SHANGHAI).date() != event_date:
            problems.append(("event_at", Worded("must fall on event_date (Shanghai time)")))
        elif event_at > now:
            problems.append(("event_at", Worded("must not be in the future")))
    for n, item in enumerate(items):
        problems += [(f"items[{n}].{f}", rule)
                     for f, rule in _item_problems(item, event_date, event_at, now)]
    return problems


def _item_problems(item: ItemTimes, event_date: date, event_at: datetime | None,
                   now: datetime) -> list[tuple[str, str]]:
    start, end = event_window(event_date)
    last = (end - timedelta(days=1)).date()
    problems = []
    for field in ("symptoms_began_at", "died_at"):
        value = getattr(item, field)
        if value is None:
            continue
        if value > now:
            problems.append((field, Worded("must not be in the future")))
        elif not start <= value < end:
            problems.append((field, Worded("must be within the event's window %(start)s to %(end)s",
                                            start=start.date(), end=last)))
    if problems:
        return problems
    died, began = item.died_at, item.symptoms_began_at
    if died is not None and began is not None and died < began:
        problems.append(("died_at", Worded("must not be before symptoms_began_at")))
    elif died is not None and event_at is not None and died < event_at:
        problems.append(("died_at", Worded("must not be before event_at")))
    return problems
