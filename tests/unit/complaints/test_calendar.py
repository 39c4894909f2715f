"""The working-day calendar over China's 2026 schedule (国务院办公厅关于2026年部分节假日安排
的通知, 4 November 2025): complaints acknowledged by the next working day."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mutua.complaints import holidays_cn, timeline
from mutua.complaints.calendar import HOLIDAY, WEEKDAYS, WORKDAY, WorkingCalendar

CHINA_2026 = WorkingCalendar(
    holidays=frozenset(d for d, k, _ in holidays_cn.SCHEDULE_2026 if k == HOLIDAY),
    workdays=frozenset(d for d, k, _ in holidays_cn.SCHEDULE_2026 if k == WORKDAY))


def test_over_the_national_day_week_the_acknowledgement_waits_for_8_october():
    # Wednesday 30 September: 1-7 October are days off, Thursday 8 October is worked.
    assert timeline.acknowledge_by(date(2026, 9, 30), CHINA_2026) == date(2026, 10, 8)
    assert timeline.acknowledge_by(date(2026, 9, 30)) == date(2026, 10, 1)  # weekdays only


def test_an_adjusted_saturday_is_a_working_day():
    # Friday 9 October: Saturday 10 October is worked in place of the holiday (调休).
    assert timeline.acknowledge_by(date(2026, 10, 9), CHINA_2026) == date(2026, 10, 10)
    # Saturday 19 September: Sunday 20 September is worked.
    assert timeline.acknowledge_by(date(2026, 9, 19), CHINA_2026) == date(2026, 9, 20)


def test_spring_festival_and_its_worked_saturdays():
    assert timeline.acknowledge_by(date(2026, 2, 13), CHINA_2026) == date(2026, 2, 14)  # Sat
    assert timeline.acknowledge_by(date(2026, 2, 14), CHINA_2026) == date(2026, 2, 24)


def test_the_schedule_has_the_notice_s_day_counts():
    holidays = [d for d, k, _ in holidays_cn.SCHEDULE_2026 if k == HOLIDAY]
    assert len(holidays) == 3 + 9 + 3 + 5 + 3 + 3 + 7 == len(set(holidays))
    workdays = sorted(d for d, k, _ in holidays_cn.SCHEDULE_2026 if k == WORKDAY)
    assert workdays == [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
                        date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)]
    assert all(d.weekday() >= 5 for d in workdays)


@given(st.dates(min_value=date(2025, 12, 1), max_value=date(2026, 12, 31)))
def test_the_next_working_day_is_working_and_none_is_skipped(day):
    due = CHINA_2026.next_working_day(day)
    assert due > day and CHINA_2026.is_working(due)
    skipped = [day + timedelta(days=k) for k in range(1, (due - day).days)]
    assert not any(CHINA_2026.is_working(d) for d in skipped)


def test_without_a_calendar_monday_to_friday_work():
    assert WEEKDAYS.next_working_day(date(2026, 12, 4)) == date(2026, 12, 7)
