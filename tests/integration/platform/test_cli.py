"""The operator commands: `mutua members validate-id`, `catalog load/projects`, `ledger trial-balance`."""

import json
from datetime import date, timedelta

import pytest
import yaml
from typer.testing import CliRunner

from mutua.cli import app
from mutua.dates import today as shanghai_today
from mutua.settings import get_settings
from tests import factories as f

runner = CliRunner()


@pytest.fixture
def cli(engine, monkeypatch):
    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    yield lambda *args: runner.invoke(app, list(args))
    get_settings.cache_clear()


def test_validate_id_json_and_exit_codes():
    ok = runner.invoke(app, ["members", "validate-id", "11010519491231002X", "--json"])
    assert ok.exit_code == 0
    assert json.loads(ok.stdout) == {"valid": True, "reason": None, "birth_date": "1949-12-31",
                                     "sex": "F"}
    bad = runner.invoke(app, ["members", "validate-id", "110105194912310021", "--json"])
    assert bad.exit_code == 1
    out = json.loads(bad.stdout)
    assert out["valid"] is False and "check character" in out["reason"]


def test_catalog_load_and_list(cli, tmp_path):
    path = tmp_path / "p.yaml"
    today = shanghai_today()
    path.write_text(yaml.safe_dump(f.accident_definition(
        sale_start=today, sale_end=today + timedelta(days=30)), allow_unicode=True))
    r = cli("catalog", "load", str(path), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"project": "TEST-ACC", "products": ["TEST-ACC-1"]}
    listed = json.loads(cli("catalog", "projects", "--json").stdout)
    assert listed["projects"][0]["code"] == "TEST-ACC"
    assert listed["projects"][0]["products"] == ["TEST-ACC-1"]


def test_catalog_load_refuses_a_contradictory_file(cli, tmp_path, db):
    d = f.accident_definition(sale_start=date(2026, 1, 1), sale_end=date(2026, 2, 1))
    d["products"][0]["coefficients"]["bands"][1]["ages"] = [20, 65]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(d))
    r = cli("catalog", "load", str(path))
    assert r.exit_code != 0
    assert "overlap" in str(r.exception)
    assert json.loads(cli("catalog", "projects", "--json").stdout) == {"projects": []}


def test_trial_balance_json(cli, db):
    f.accident_project(db)
    f.policy(db, member=f.member(db))
    db.commit()
    r = cli("ledger", "trial-balance", "--project", "TEST-ACC", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    [proj] = out["projects"]
    assert proj["project"] == "TEST-ACC" and proj["total"] == "0.00"
    balances = {a["code"]: a["balance"] for a in proj["accounts"]}
    assert balances["cash"] == "36.50" and balances["unearned_premium"] == "-36.50"
    unknown = cli("ledger", "trial-balance", "--project", "NOPE", "--json")
    assert unknown.exit_code != 0


def test_an_operator_deactivates_an_account_and_gives_it_a_new_password(cli, client, db):
    from mutua.auth.roles import Role

    user = f.staff(db, Role.FINANCE)
    headers = f.staff_headers_for(client, db, user)
    r = cli("users", "deactivate", user.username, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["active"] is False
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert cli("users", "activate", user.username).exit_code == 0
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    r = cli("users", "password", user.username, "--password", "a-brand-new-one-9")
    assert r.exit_code == 0, r.output
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert client.post("/api/v1/auth/token", data={"username": user.username,
                                                   "password": "a-brand-new-one-9"}).status_code == 200
