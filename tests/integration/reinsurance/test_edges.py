"""Reinsurance, solvency, movements and the export through the API and the CLI."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date

from typer.testing import CliRunner

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.claims import first_notice, workflow
from mutua.claims.schemas import ClaimIn, DecisionIn
from mutua.settlement import service as settlement_service
from tests import factories as f
from tests.integration.settlement.conftest import AFTER_Q1, CODE, build_pool

TREATY = {"project": CODE, "code": "XL-1", "kind": "per_risk", "reinsurer": "China Re",
          "retention": "30000", "limit": "50000", "rate": "0.03", "reinstatements": 1,
          "reinstatement_rate": "0.05", "starts_on": "2025-01-01", "ends_on": "2025-12-31"}


def _large_loss(db, pool):
    day = date(2025, 3, 1)
    claim = first_notice.report(db, data=ClaimIn(
        policy_id=pool.policies[1].id, event_type="accident", event_date=day, place="深圳",
        description="road accident", items=[{"benefit_code": "death"}]), actor=SYSTEM, on=day)
    workflow.decide(db, claim_id=claim.id, actor=SYSTEM, data=DecisionIn(**f.ON_PAPER, reason="checked"),
                    on=day)
    db.commit()


def test_treaties_recoveries_and_reports_through_the_api(client, db):
    pool = build_pool(db)
    finance = f.staff_headers(client, db, Role.FINANCE)
    actuary = f.staff_headers(client, db, Role.ACTUARY)
    assert client.post("/api/v1/reinsurance/treaties", json=TREATY,
                       headers=actuary).status_code == 403
    bad = client.post("/api/v1/reinsurance/treaties", headers=finance,
                      json=TREATY | {"retention": "-1", "kind": "quota"})
    assert bad.status_code == 422
    assert {p["field"] for p in bad.json()["problems"]} >= {"retention", "kind"}
    r = client.post("/api/v1/reinsurance/treaties", json=TREATY, headers=finance)
    assert r.status_code == 201, r.text
    assert r.json()["aggregate_limit"] == "100000.00"
    _large_loss(db, pool)
    r = client.get("/api/v1/reinsurance/recoveries", params={"outstanding": True},
                   headers=actuary)
    assert r.json()["total"] == 1 and r.json()["items"][0]["amount"] == "50000.00"
    rid = r.json()["items"][0]["id"]
    r = client.post(f"/api/v1/reinsurance/recoveries/{rid}/receive", headers=finance,
                    json={"on": "2025-04-10"})
    assert r.status_code == 200 and r.json()["received_on"] == "2025-04-10"
    treaties = client.get("/api/v1/reinsurance/treaties", headers=actuary).json()["items"]
    assert treaties[0]["recovered"] == "50000.00" and treaties[0]["outstanding"] == "0.00"

    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    db.commit()
    r = client.get("/api/v1/settlement/solvency", params={"quarter": "2025Q1"}, headers=actuary)
    assert r.status_code == 200 and r.json()["projects"][0]["project"] == CODE
    r = client.get("/api/v1/settlement/reserve-movements",
                   params={"project": CODE, "quarter": "2025Q1"}, headers=actuary)
    assert all(line["balanced"] for line in r.json()["lines"])
    assert client.get("/api/v1/settlement/export", params={"project": CODE, "quarter": "2025Q1"},
                      headers=actuary).status_code == 403
    r = client.get("/api/v1/settlement/export", params={"project": CODE, "quarter": "2025Q1"},
                   headers=finance)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "ledger.csv" in zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    r = client.post("/api/v1/settlement/solvency-factors", headers=actuary, json={
        "line": "accident", "premium_factor": "0.1", "reserve_factor": "0.12",
        "effective_from": "2025Q2", "source": "C-ROSS II Rule No.4 annex, as filed"})
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/settlement/solvency-factors", headers=actuary, json={
        "line": "marine", "premium_factor": "2", "reserve_factor": "0.12",
        "effective_from": "2025Q3", "source": "x"})
    assert {p["field"] for p in r.json()["problems"]} == {"line", "premium_factor", "source"}


def test_the_cli(engine, db, monkeypatch, tmp_path):
    from mutua.cli import app
    from mutua.settings import get_settings

    pool = build_pool(db)
    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    runner = CliRunner()
    args = ["reinsurance", "file"] + [x for k, v in TREATY.items()
                                      for x in (f"--{k.replace('_', '-')}", str(v))]
    out = runner.invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    _large_loss(db, pool)
    out = runner.invoke(app, ["reinsurance", "recoveries", "--json"])
    (rec,) = json.loads(out.output)
    out = runner.invoke(app, ["reinsurance", "receive", str(rec["id"]), "--on", "2025-04-02"])
    assert out.exit_code == 0, out.output
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    db.commit()
    out = runner.invoke(app, ["settle", "solvency", "--quarter", "2025Q1", "--json"])
    assert json.loads(out.output)["projects"][0]["passed"] in (True, False)
    out = runner.invoke(app, ["settle", "movements", "--project", CODE, "--quarter", "2025Q1"])
    assert "ties" in out.output and "DOES NOT TIE" not in out.output
    target = tmp_path / "q.zip"
    out = runner.invoke(app, ["settle", "export", "--project", CODE, "--quarter", "2025Q1",
                              "--out", str(target)])
    assert out.exit_code == 0, out.output
    assert len(zipfile.ZipFile(target).namelist()) == 5
