"""The working-day calendar staff keep: seeded with the State Council's 2026 schedule
(国务院办公厅关于2026年部分节假日安排的通知), kept by an administrator through the API and
the CLI, and counted by complaints' acknowledgement due dates."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.complaints import calendar_days
from mutua.complaints import service as complaints
from mutua.complaints.models import CalendarDay
from mutua.errors import Forbidden, ValidationFailed
from tests import factories as f
from tests.integration.complaints.test_complaints import member_principal


def calendar_rows(db) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(CalendarDay))


@pytest.fixture
def me(db):
    f.accident_project(db)
    m = f.member(db, login=True)
    db.commit()
    return member_principal(db, m)


def test_a_complaint_before_national_day_is_due_after_the_holiday_week(db, me):
    assert calendar_days.seed(db, actor=SYSTEM) == 39
    c = complaints.file(db, actor=me, cause="service", text="热线无人接听", on=date(2026, 9, 30))
    assert c.acknowledge_due_on == date(2026, 10, 8)


def test_a_complaint_on_the_friday_before_an_adjusted_saturday_is_due_that_saturday(db, me):
    calendar_days.seed(db, actor=SYSTEM)
    c = complaints.file(db, actor=me, cause="service", text="热线无人接听", on=date(2026, 10, 9))
    assert c.acknowledge_due_on == date(2026, 10, 10)


def test_seeding_twice_adds_nothing_and_keeps_what_staff_changed(db):
    calendar_days.seed(db, actor=SYSTEM)
    calendar_days.set_day(db, day=date(2026, 10, 8), kind="holiday", name="公司假日",
                          actor=SYSTEM)
    assert calendar_days.seed(db, actor=SYSTEM) == 0
    assert db.get(CalendarDay, date(2026, 10, 8)).name == "公司假日"


def test_bad_days_are_refused_naming_each_field_and_nothing_is_stored(db):
    with pytest.raises(ValidationFailed) as refused:
        calendar_days.set_day(db, day=date(2101, 1, 1), kind="festival", name="",
                              actor=SYSTEM)
    assert {p.field for p in refused.value.problems} == {"day", "kind", "name"}
    with pytest.raises(ValidationFailed) as refused:
        calendar_days.set_day(db, day=date(2026, 10, 12), kind="workday", name="调休",
                              actor=SYSTEM)  # a Monday
    assert refused.value.problems[0].field == "kind"
    assert calendar_rows(db) == 0


def test_only_an_administrator_keeps_the_calendar(db):
    claims = f.staff(db, Role.CLAIMS)
    from mutua.members import accounts

    with pytest.raises(Forbidden):
        calendar_days.set_day(db, day=date(2027, 1, 1), kind="holiday", name="元旦",
                              actor=accounts.principal_of(claims))


def test_the_api_sets_lists_and_removes_days(client, db):
    admin = f.staff_headers(client, db, Role.ADMIN)
    r = client.put("/api/v1/calendar/days/2027-01-01", headers=admin,
                   json={"kind": "holiday", "name": "元旦", "source": "2027 notice"})
    assert r.status_code == 200 and r.json()["day"] == "2027-01-01"
    reader = f.staff_headers(client, db, Role.CLAIMS)
    listed = client.get("/api/v1/calendar/days?year=2027", headers=reader).json()
    assert [d["name"] for d in listed] == ["元旦"]
    r = client.put("/api/v1/calendar/days/2027-01-02", headers=reader,
                   json={"kind": "holiday", "name": "x"})
    assert r.status_code == 403
    r = client.put("/api/v1/calendar/days/2027-01-04", headers=admin,
                   json={"kind": "workday", "name": "调休"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "kind"
    assert client.get("/api/v1/calendar/days?year=1999", headers=reader).status_code == 422
    assert client.delete("/api/v1/calendar/days/2027-01-01", headers=admin).status_code == 204
    assert client.delete("/api/v1/calendar/days/2027-01-01", headers=admin).status_code == 404
    assert calendar_rows(db) == 0


def test_the_cli_seeds_adds_and_lists(cli, db):
    assert json.loads(cli("calendar", "seed", "--json").stdout) == {"added": 39}
    r = cli("calendar", "add", "2027-02-06", "--kind", "holiday", "--name", "春节")
    assert r.exit_code == 0, r.output
    assert cli("calendar", "add", "2027-13-01", "--kind", "holiday", "--name", "x"
               ).exit_code != 0
    assert cli("calendar", "add", "2027-02-07", "--kind", "feast", "--name", "x"
               ).exit_code != 0
    listed = json.loads(cli("calendar", "list", "--year", "2027", "--json").stdout)
    assert [d["day"] for d in listed["days"]] == ["2027-02-06"]
