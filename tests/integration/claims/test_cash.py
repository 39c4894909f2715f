"""Cash never goes below zero without an approved overdraft (issue 14 item 3)."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import func, select
from typer.testing import CliRunner

from mutua.audit.models import AuditEvent
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.claims import service
from mutua.claims.models import ClaimPayment, PaymentBatch
from mutua.claims.schemas import ClaimIn, DecisionIn
from mutua.cli import app as cli
from mutua.ledger import service as ledger_service
from mutua.ledger.models import Entry, Overdraft
from mutua.settings import get_settings
from tests import factories as f
from tests.jobs import result as job_result

from .conftest import accident, assert_books_balance


def count(db, model, *where) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def approved_disability(db, world, grade=10):
    claim = service.report(db, data=ClaimIn.model_validate(accident(
        world.policy.id, {"benefit_code": "disability", "disability_grade": grade})),
        actor=SYSTEM)
    service.decide(db, claim_id=claim.id, actor=SYSTEM, data=DecisionIn(**f.ON_PAPER))
    return claim


def no_overdraft(db, world):
    for o in ledger_service.overdrafts(db, project_id=world.project_id):
        ledger_service.withdraw_overdraft(db, overdraft_id=o.id, actor=SYSTEM)


def test_a_batch_the_cash_cannot_cover_is_refused_naming_the_shortfall(client, db, world):
    no_overdraft(db, world)
    approved_disability(db, world)  # 10,000 against two members' premium
    db.commit()
    cash = ledger_service.cash_balance(db, project_id=world.project_id)
    assert 0 < cash < Decimal("10000")
    before = count(db, Entry)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    r = client.post("/api/v1/claims/payments", headers=handler, json={"project": "TEST-ACC"})
    assert r.status_code == 409, r.text
    short = Decimal("10000.00") - cash
    assert r.json()["message"] == (f"cash is {short} yuan short: this needs 10000.00, the cash "
                                   f"balance is {cash} and the approved overdraft 0.00")
    assert count(db, ClaimPayment) == count(db, PaymentBatch) == 0
    assert count(db, Entry) == before
    assert ledger_service.cash_balance(db, project_id=world.project_id) == cash


def test_an_approved_overdraft_lets_cash_go_exactly_to_its_limit(client, db, world):
    no_overdraft(db, world)
    approved_disability(db, world)
    db.commit()
    cash = ledger_service.cash_balance(db, project_id=world.project_id)
    finance = f.staff_headers(client, db, Role.FINANCE)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    too_small = Decimal("10000.00") - cash - Decimal("0.01")
    r = client.post("/api/v1/ledger/overdrafts", headers=finance, json={
        "project": "TEST-ACC", "limit": str(too_small), "reason": "bridge to next quarter"})
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/claims/payments", headers=handler,
                       json={"project": "TEST-ACC"}).status_code == 409
    assert client.post(f"/api/v1/ledger/overdrafts/{r.json()['id']}/withdraw",
                       headers=finance).status_code == 200
    r = client.post("/api/v1/ledger/overdrafts", headers=finance, json={
        "project": "TEST-ACC", "limit": str(too_small + Decimal("0.01")),
        "reason": "bridge to next quarter"})
    assert r.status_code == 201
    paid = job_result(client, client.post("/api/v1/claims/payments", headers=handler,
                                          json={"project": "TEST-ACC"}), handler)
    assert paid["total"] == "10000.00"
    position = client.get("/api/v1/ledger/cash", headers=handler,
                          params={"project": "TEST-ACC"}).json()
    assert (Decimal(position["balance"]), Decimal(position["available"])) == (
        -(too_small + Decimal("0.01")), Decimal("0"))
    assert_books_balance(db)


def test_only_finance_or_an_administrator_approves_an_overdraft(client, db, world):
    member = f.member_headers(client, db, world.member)
    body = {"project": "TEST-ACC", "limit": "5000", "reason": "claims spike this month"}
    for role in (Role.CLAIMS, Role.ACTUARY):
        r = client.post("/api/v1/ledger/overdrafts", headers=f.staff_headers(client, db, role),
                        json=body)
        assert r.status_code == 403, (role, r.text)
    assert client.post("/api/v1/ledger/overdrafts", headers=member, json=body).status_code == 403
    finance = f.staff_headers(client, db, Role.FINANCE)
    # the world's facility is still in force: withdraw it before another
    assert client.post("/api/v1/ledger/overdrafts", headers=finance, json=body).status_code == 409
    no_overdraft(db, world)
    db.commit()
    bad = client.post("/api/v1/ledger/overdrafts", headers=finance, json=body | {
        "limit": "0", "reason": "x"})
    assert bad.status_code == 422
    assert {p["field"] for p in bad.json()["problems"]} == {"limit", "reason"}
    ok = client.post("/api/v1/ledger/overdrafts", headers=finance, json=body)
    assert ok.status_code == 201 and ok.json()["approved_by_name"].startswith("finance")
    db.expire_all()
    granted = db.scalars(select(AuditEvent).where(
        AuditEvent.action == "ledger.overdraft.grant")).all()
    assert granted[-1].detail["limit"] == "5000.00"


def test_the_cli_grants_an_overdraft_as_a_named_finance_user(engine, db, world, monkeypatch):
    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    officer = f.staff(db, Role.FINANCE)
    handler = f.staff(db, Role.CLAIMS)
    no_overdraft(db, world)
    db.commit()
    runner = CliRunner()
    args = ["ledger", "overdraft-grant", "--project", "TEST-ACC", "--limit", "20000",
            "--reason", "bridge to the next premium"]
    assert runner.invoke(cli, [*args, "--by", handler.username]).exit_code != 0
    r = runner.invoke(cli, [*args, "--by", officer.username])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["ledger", "cash", "--project", "TEST-ACC", "--json"])
    assert json.loads(r.stdout)["overdraft"] == "20000.00"
    db.expire_all()
    assert db.scalar(select(Overdraft.approved_by_name).where(
        Overdraft.withdrawn_at.is_(None))) == officer.username
    get_settings.cache_clear()
