"""The settlement API and CLI on a real database."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.settlement import service
from tests import factories as f
from tests.integration.settlement.conftest import AFTER_Q1, CODE, build_pool
from tests.jobs import result as job_result


@pytest.fixture
def closed_pool(db):
    pool = build_pool(db)
    service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM, today=AFTER_Q1)
    db.commit()
    return pool


def test_statements_through_the_api(client, db, closed_pool):
    finance = f.staff_headers(client, db, Role.FINANCE)
    r = client.get(f"/api/v1/settlement/closes/{CODE}/2025Q1", headers=finance)
    assert r.status_code == 200, r.text
    body = r.json()
    for key in ("earned_premium", "claims_incurred", "ibnr", "expenses", "reserve_contribution",
                "surplus", "distributable", "allocations", "policies_uplifted",
                "sum_insured_added", "gates"):
        assert key in body
    r = client.get("/api/v1/settlement/closes", params={"project": CODE}, headers=finance)
    assert r.json()["total"] == 1 and r.json()["items"][0]["quarter"] == "2025Q1"
    assert client.get(f"/api/v1/settlement/closes/{CODE}/2025Q2",
                      headers=finance).status_code == 404


def test_member_reads_only_their_own_statement(client, db, closed_pool):
    me, other = closed_pool.members[0], closed_pool.members[1]
    headers = f.member_headers(client, db, me)
    r = client.get("/api/v1/settlement/me/statement", headers=headers)
    assert r.status_code == 200, r.text
    q = r.json()["quarters"][0]
    assert q["quarter"] == "2025Q1" and float(q["uplift"]) > 0 and float(q["aid"]) > 0
    assert q["uplift_policies"][0]["benefits"]
    assert client.get(f"/api/v1/settlement/members/{me.id}/statement",
                      headers=headers).status_code == 200
    assert client.get(f"/api/v1/settlement/members/{other.id}/statement",
                      headers=headers).status_code == 404
    assert client.get(f"/api/v1/settlement/closes/{CODE}/2025Q1",
                      headers=headers).status_code == 403
    assert client.post("/api/v1/settlement/closes", json={"project": CODE, "quarter": "2025Q1"},
                       headers=headers).status_code == 403


def test_close_through_the_api(client, db):
    build_pool(db)
    finance = f.staff_headers(client, db, Role.FINANCE)
    dry = client.post("/api/v1/settlement/closes",
                      json={"project": CODE, "quarter": "2025Q1", "dry_run": True},
                      headers=finance)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    assert client.get("/api/v1/settlement/closes", headers=finance).json()["total"] == 0
    real = job_result(client, client.post("/api/v1/settlement/closes",
                                          json={"project": CODE, "quarter": "2025Q1"},
                                          headers=finance), finance)  # a job: 202, then run
    assert real["distributable"] == dry.json()["distributable"]
    again = job_result(client, client.post("/api/v1/settlement/closes",
                                           json={"project": CODE, "quarter": "2025Q1"},
                                           headers=finance), finance)
    assert again["rerun"] is True
    bad = client.post("/api/v1/settlement/allocation-policies", headers=finance, json={
        "project": CODE, "uplift": "0.6", "aid": "0.3", "services": "0.2",
        "effective_from": "2026Q1"})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "shares"
    ok = client.post("/api/v1/settlement/allocation-policies", headers=finance, json={
        "project": CODE, "uplift": "0.6", "aid": "0.3", "services": "0.1",
        "effective_from": "2026Q1", "source": "proposal:7"})
    assert ok.status_code == 201 and ok.json()["version"] == 2
    nope = client.post("/api/v1/settlement/closes", json={"project": "NOPE", "quarter": "2025Q1"},
                       headers=finance)
    assert nope.status_code == 404
    future = client.post("/api/v1/settlement/closes",
                         json={"project": CODE, "quarter": "2999Q1"}, headers=finance)
    assert future.status_code == 422


def test_cli_report_and_list(engine, db, closed_pool, monkeypatch):
    from mutua.cli import app
    from mutua.settings import get_settings

    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    runner = CliRunner()
    out = runner.invoke(app, ["settle", "report", "--project", CODE, "--quarter", "2025Q1",
                              "--json"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert set(body["allocations"]) >= {"uplift", "aid", "services", "carried"}
    # the declared rate, approved claims not yet paid, and the money carried are all there
    for key in ("uplift_rate", "uplift_rate_percent", "claims_payable", "claims_payable_change",
                "uplift_carried", "uplift_premium_earned", "reserve_set_aside"):
        assert key in body, key
    text = runner.invoke(app, ["settle", "report", "--project", CODE, "--quarter", "2025Q1"])
    assert f"rose by {body['uplift_rate_percent']}%" in text.output
    assert "claims_payable_change" in text.output and "carried" in text.output
    out = runner.invoke(app, ["settle", "list", "--project", CODE, "--json"])
    assert json.loads(out.output)["items"][0]["quarter"] == "2025Q1"
    out = runner.invoke(app, ["settle", "run", "--project", CODE, "--quarter", "2025Q1", "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["rerun"] is True
    out = runner.invoke(app, ["settle", "run", "--project", "NOPE", "--quarter", "2025Q1"])
    assert out.exit_code != 0
    get_settings.cache_clear()


def test_cli_dry_run_writes_nothing(engine, db, monkeypatch):
    from mutua.cli import app
    from mutua.settings import get_settings

    build_pool(db)
    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    out = CliRunner().invoke(app, ["settle", "run", "--project", CODE, "--quarter", "2025Q1",
                                   "--dry-run", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["dry_run"] is True
    assert service.list_closes(db, project_code=CODE)[1] == 0
    get_settings.cache_clear()


def test_the_expense_api_keeps_the_same_rules_as_the_finance_page(client, db, closed_pool):
    from mutua.settlement.models import Expense

    finance = f.staff_headers(client, db, Role.FINANCE)
    before = db.query(Expense).count()
    cases = [({"memo": ""}, "memo"), ({"amount": "12.345"}, "amount"),
             ({"amount": "-1"}, "amount"), ({"quarter": "2025Q1"}, "quarter"),
             ({"quarter": "2025-Q9"}, "quarter"), ({"project": "NOPE"}, "project")]
    for change, field in cases:
        body = {"project": CODE, "quarter": "2025Q2", "amount": "100.00", "memo": "audit fee",
                **change}
        r = client.post("/api/v1/settlement/expenses", json=body, headers=finance)
        assert r.status_code == 422, (change, r.text)
        assert field in [p["field"] for p in r.json()["problems"]], (change, r.json())
    assert db.query(Expense).count() == before
    ok = client.post("/api/v1/settlement/expenses", headers=finance, json={
        "project": CODE, "quarter": "2025Q2", "amount": "100.5", "memo": " audit fee "})
    assert ok.status_code == 201 and ok.json()["amount"] == "100.50"
