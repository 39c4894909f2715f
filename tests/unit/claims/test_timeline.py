"""Dates and times a first notice may give (issue 14 item 5): events that cannot be true."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from mutua.claims.timeline import ItemTimes, check_times, event_window
from mutua.dates import SHANGHAI

EVENT = date(2026, 3, 1)
TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)


def at(day: date, hour: int = 8) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def problems(*items: ItemTimes, event_date=EVENT, event_at=None, today=TODAY, now=NOW):
    return check_times(event_date=event_date, event_at=event_at, items=items,
                       cover_start=date(2026, 1, 1), cover_end=date(2026, 12, 31), today=today,
                       now=now)


def test_the_issue_case_a_death_in_1900_for_an_accident_in_2026():
    found = problems(ItemTimes(None, datetime(1900, 1, 1, tzinfo=SHANGHAI)))
    assert found == [("items[0].died_at",
                      "must be within the event's window 2026-02-28 to 2026-08-28")]


def test_true_times_pass():
    assert problems(ItemTimes(at(EVENT), at(EVENT, 14))) == []
    # symptoms the evening before, death on the event date
    assert problems(ItemTimes(at(EVENT - timedelta(days=1), 22), at(EVENT, 3))) == []
    # a death 180 days after the accident is still the accident's
    late = EVENT + timedelta(days=180)
    assert problems(ItemTimes(None, at(late, 23)), today=late, now=at(late, 23)) == []


def test_the_window_closes_the_day_after_its_last_day():
    start, end = event_window(EVENT)
    assert (start, end) == (at(EVENT - timedelta(days=1), 0), at(date(2026, 8, 29), 0))
    after = date(2026, 8, 29)
    assert problems(ItemTimes(None, at(after, 0)), today=after, now=at(after, 12))[0][0] == \
        "items[0].died_at"
    assert problems(ItemTimes(at(EVENT - timedelta(days=2), 23), None))[0][0] == \
        "items[0].symptoms_began_at"


def test_death_before_the_symptoms_or_before_the_accident():
    assert problems(ItemTimes(at(EVENT, 10), at(EVENT, 9))) == [
        ("items[0].died_at", "must not be before symptoms_began_at")]
    assert problems(ItemTimes(None, at(EVENT, 9)), event_at=at(EVENT, 10)) == [
        ("items[0].died_at", "must not be before event_at")]


@pytest.mark.parametrize("field", ["symptoms_began_at", "died_at"])
def test_times_in_the_future(field):
    later = NOW + timedelta(hours=1)
    item = ItemTimes(**{"symptoms_began_at": None, "died_at": None, field: later})
    assert problems(item) == [(f"items[0].{field}", "must not be in the future")]


def test_event_date_in_the_future_or_outside_the_cover():
    assert problems(event_date=TODAY + timedelta(days=1)) == [
        ("event_date", "must not be in the future")]
    assert problems(event_date=date(2025, 12, 31)) == [
        ("event_date", "is outside the policy's cover 2026-01-01 to 2026-12-31")]


def test_event_time_on_another_day_or_in_the_future():
    assert problems(event_at=at(EVENT + timedelta(days=1))) == [
        ("event_at", "must fall on event_date (Shanghai time)")]
    assert problems(event_date=TODAY, event_at=NOW + timedelta(hours=2)) == [
        ("event_at", "must not be in the future")]
