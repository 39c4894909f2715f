"""`POST /api/v1/members/import` and `mutua members import`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from mutua.auth.roles import Role
from mutua.cli import app as cli_app
from mutua.errors import ValidationFailed
from mutua.members.models import Member
from mutua.policies.models import Policy
from mutua.settings import get_settings
from tests import factories as f
from tests.integration.members.test_import import TODAY, crowd_rows, to_csv, to_xlsx
from tests.jobs import finished as finished_job
from tests.jobs import result as job_result

runner = CliRunner()


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def product(db):
    product = f.accident_project(db, code="GRP", classes=(1, 2, 3, 4, 5), today=TODAY)
    db.commit()
    return product


def post(client, headers, data: bytes, *, filename="group.csv", all_or_nothing=False):
    return client.post("/api/v1/members/import", headers=headers,
                       files={"file": (filename, data, "text/csv")},
                       data={"product": "GRP-1", "period": "P1",
                             "all_or_nothing": str(all_or_nothing).lower()})


def test_underwriter_imports_a_file_and_gets_the_report(client, db, product):
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    rows = crowd_rows(10)
    rows[3]["occupation_code"] = "NOPE"
    body = job_result(client, post(client, uw, to_csv(rows)), uw)  # a job: 202, then its report
    assert (body["rows"], body["enrolled"], body["bad"]) == (10, 9, 1)
    assert body["bad_rows"] == [{"row": 5, "problems": [
        {"field": "occupation_code", "rule": "unknown occupation code 'NOPE'"}]}]
    assert count(db, Policy) == 9


def test_excel_upload_works(client, db, product):
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    report = job_result(client, post(client, uw, to_xlsx(crowd_rows(4)), filename="fleet.xlsx"), uw)
    assert report["file_kind"] == "xlsx" and report["enrolled"] == 4


def test_all_or_nothing_fails_with_the_report_and_stores_nothing(client, db, product):
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    rows = crowd_rows(5)
    rows[0]["phone"] = "123"
    job = finished_job(client, post(client, uw, to_csv(rows), all_or_nothing=True), uw)
    assert job["state"] == "failed"
    body = job["error"]
    assert body["error"] == "validation_failed"
    assert body["problems"][0]["field"] == "rows[2].phone"
    assert body["report"]["stored"] is False and body["report"]["bad"] == 1
    assert count(db, Member) == 0 and count(db, Policy) == 0


def test_malformed_and_oversized_uploads_are_422(client, db, product, app):
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    r = post(client, uw, b"\x00\x01\x02garbage" * 100)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "file"
    # a table naming none of the columns is not a member list at all (issue 20.3: say so,
    # rather than list the columns it lacks); one naming some of them lacks the others
    r = post(client, uw, b"who,what\n1,2\n")
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "file"
    assert r.json()["problems"][0]["rule"].startswith("is not a member list")
    r = post(client, uw, b"name,phone\n\xe5\xbc\xa0\xe4\xb8\x89,13800138000\n")
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "file.header"
    app.state.settings.import_max_bytes = 50
    r = post(client, uw, to_csv(crowd_rows(3)))
    assert r.status_code == 422 and "larger than the limit" in r.json()["message"]
    assert count(db, Member) == 0


def test_only_underwriters_import(client, db, product):
    data = to_csv(crowd_rows(1))
    assert post(client, {}, data).status_code == 401
    claims = f.staff_headers(client, db, Role.CLAIMS)
    assert post(client, claims, data).status_code == 403
    member = f.member(db, login=True)
    assert post(client, f.member_headers(client, db, member), data).status_code == 403


@pytest.fixture
def cli(engine, monkeypatch):
    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    yield lambda *args: runner.invoke(cli_app, ["members", "import", *args])
    get_settings.cache_clear()


def test_cli_import_json_and_exit_codes(cli, db, product, tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(to_csv(crowd_rows(6, seed=5)))
    r = cli(str(good), "--product", "GRP-1", "--period", "P1", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["enrolled"] == 6 and out["rows_per_second"] > 0

    rows = crowd_rows(4, seed=6)
    rows[1]["id_number"] = "440305199001011234"
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(to_csv(rows))
    r = cli(str(mixed), "--product", "GRP-1", "--period", "P1", "--all-or-nothing")
    assert r.exit_code == 1
    assert "nothing stored" in r.stdout and "row 3: id_number" in r.stdout
    assert count(db, Policy) == 6

    r = cli(str(mixed), "--product", "GRP-1", "--period", "P1")
    assert r.exit_code == 1 and "enrolled 3" in r.stdout
    assert count(db, Policy) == 9


def test_cli_refuses_a_malformed_file(cli, db, product, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    r = cli(str(bad), "--product", "GRP-1", "--period", "P1")
    assert isinstance(r.exception, ValidationFailed) and "empty" in r.exception.message
    r = cli(str(tmp_path / "missing.csv"), "--product", "GRP-1", "--period", "P1")
    assert isinstance(r.exception, ValidationFailed) and "does not exist" in r.exception.message
