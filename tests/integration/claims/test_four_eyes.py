"""Four eyes on large overrides (issue 14 item 3): a second handler approves or rejects."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from mutua.audit.models import AuditEvent
from mutua.auth.roles import Role
from mutua.claims.models import ClaimDecision
from mutua.cli import app as cli
from mutua.dates import SHANGHAI
from mutua.settings import get_settings
from tests import factories as f

from .conftest import TODAY, accident, assert_books_balance

LIMIT = 10_000  # settings.override_second_approval_yuan, the default


def late_sudden_death(client, member, policy_id):
    """Death 30 hours after the symptoms: the engine pays 0 of the 50,000 sudden-death sum
    (over 24 hours); a handler may pay on the hospital record, up to the 50,000 ceiling."""
    began = datetime.combine(TODAY - timedelta(days=3), time(8), SHANGHAI)
    r = client.post("/api/v1/claims", headers=member, json={
        "policy_id": policy_id, "event_type": "sudden_death",
        "event_date": (TODAY - timedelta(days=3)).isoformat(),
        "items": [{"benefit_code": "sudden_death", "symptoms_began_at": began.isoformat(),
                   "died_at": (began + timedelta(hours=30)).isoformat()}]})
    assert r.status_code == 201, r.text
    assert r.json()["items"][0]["engine_amount"] == "0.00"
    return r.json()


def override(client, headers, claim, amount, reason="hospital record: onset 20 hours before"):
    return client.post(f"/api/v1/claims/{claim['id']}/decide", headers=headers, json={**f.ON_PAPER,
        "items": [{"item_id": claim["items"][0]["id"], "approved": amount}], "reason": reason})


@pytest.fixture
def people(client, db, world):
    """The member, the handler who overrides, a second handler."""
    return (f.member_headers(client, db, world.member), f.staff_headers(client, db, Role.CLAIMS),
            f.staff_headers(client, db, Role.CLAIMS))


def actions(db) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent.action).where(AuditEvent.entity == "claim")
                           .order_by(AuditEvent.id)))


def test_an_override_within_the_limit_needs_no_second_approval(client, db, world, app):
    assert app.state.settings.override_second_approval_yuan == LIMIT
    member = f.member_headers(client, db, world.member)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    claim = late_sudden_death(client, member, world.policy.id)
    r = override(client, handler, claim, "10000")  # exactly the limit above the engine's 0
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["approved"]) == ("decided", "10000.00")
    assert r.json()["pending_override"] is None
    assert "claim.override.request" not in actions(db)


def test_a_large_override_waits_and_a_second_handler_approves_it(client, db, world, people):
    member, handler, second = people
    claim = late_sudden_death(client, member, world.policy.id)
    r = override(client, handler, claim, "10000.01")
    assert r.status_code == 202, r.text
    pending = r.json()["pending_override"]
    assert (r.json()["status"], r.json()["approved"], r.json()["decisions"]) == (
        "reported", "0.00", [])
    assert (pending["approved"], pending["engine_amount"], pending["above_engine"]) == (
        "10000.01", "0.00", "10000.01")
    queue = client.get("/api/v1/claims", headers=second,
                       params={"status": "awaiting_approval"}).json()
    assert [c["id"] for c in queue["items"]] == [claim["id"]]
    # nobody decides around it while it waits
    assert client.post(f"/api/v1/claims/{claim['id']}/decide", headers=second,
                       json=f.ON_PAPER).status_code == 409

    r = client.post(f"/api/v1/claims/{claim['id']}/override/approve", headers=second,
                    json={"note": "board report read"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["approved"], body["pending_override"]) == (
        "decided", "10000.01", None)
    assert body["overrides"][0]["status"] == "approved"
    db.expire_all()
    decision = db.scalar(select(ClaimDecision).where(ClaimDecision.claim_id == claim["id"]))
    assert decision.decided_by != decision.second_approver and decision.second_approver
    assert actions(db)[-3:] == ["claim.override.request", "claim.override.approve",
                                "claim.decide"]
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "claim.decide")).one()
    assert event.detail["second_approver"] and event.detail["decided_by"]
    assert_books_balance(db)


def test_the_same_handler_cannot_approve_their_own_override(client, db, world):
    member = f.member_headers(client, db, world.member)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    claim = late_sudden_death(client, member, world.policy.id)
    assert override(client, handler, claim, "50000").status_code == 202
    r = client.post(f"/api/v1/claims/{claim['id']}/override/approve", headers=handler, json={})
    assert r.status_code == 403, r.text
    assert client.get(f"/api/v1/claims/{claim['id']}", headers=handler).json()[
        "pending_override"]["status"] == "pending"


def test_a_member_or_another_role_cannot_approve(client, db, world):
    member = f.member_headers(client, db, world.member)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    finance = f.staff_headers(client, db, Role.FINANCE)
    claim = late_sudden_death(client, member, world.policy.id)
    assert override(client, handler, claim, "50000").status_code == 202
    for who in (member, finance):
        r = client.post(f"/api/v1/claims/{claim['id']}/override/approve", headers=who, json={})
        assert r.status_code == 403, r.text
    assert "claim.override.approve" not in actions(db)


def test_a_rejected_override_leaves_the_claim_open_to_decide_again(client, db, world, people):
    member, handler, second = people
    claim = late_sudden_death(client, member, world.policy.id)
    assert override(client, handler, claim, "50000").status_code == 202
    url = f"/api/v1/claims/{claim['id']}/override/reject"
    refused = client.post(url, headers=second, json={"note": ""})
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "note"
    r = client.post(url, headers=second, json={"note": "the grade stands: no new evidence"})
    assert r.status_code == 200 and r.json()["pending_override"] is None
    assert r.json()["overrides"][0]["status"] == "rejected"
    assert client.post(f"/api/v1/claims/{claim['id']}/override/approve", headers=second,
                       json={}).status_code == 409
    r = client.post(f"/api/v1/claims/{claim['id']}/decide", headers=handler, json=f.ON_PAPER)
    assert r.status_code == 200 and r.json()["outcome"] == "deny"
    assert {"claim.override.request", "claim.override.reject"} <= set(actions(db))


def test_approval_checks_the_ceiling_again(client, db, world, people):
    """Between the request and the approval another claim spent the shared sum."""
    member, handler, second = people
    death = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "death"}, days_ago=3)).json()
    # the handler pays despite an exclusion the review found: 100,000 above the engine's 0
    r = client.post(f"/api/v1/claims/{death['id']}/decide", headers=handler, json={**f.ON_PAPER,
        "items": [{"item_id": death["items"][0]["id"], "approved": "100000"}],
        "circumstances": ["drunk_driving"], "reason": "the test was taken after a transfusion"})
    assert r.status_code == 202, r.text
    dis = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "disability", "disability_grade": 1},
        days_ago=5)).json()
    r = client.post(f"/api/v1/claims/{dis['id']}/decide", headers=second, json=f.ON_PAPER)
    assert r.status_code == 200 and r.json()["approved"] == "100000.00"  # the shared sum
    r = client.post(f"/api/v1/claims/{death['id']}/override/approve", headers=second, json={})
    assert r.status_code == 422 and "must not exceed 0.00" in r.text
    assert client.get(f"/api/v1/claims/{death['id']}", headers=second).json()[
        "pending_override"]["status"] == "pending"


def test_the_cli_shows_the_pending_override_and_a_second_user_approves(client, db, world,
                                                                        engine, monkeypatch):
    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    first, second = f.staff(db, Role.CLAIMS), f.staff(db, Role.CLAIMS)
    claim = late_sudden_death(client, f.member_headers(client, db, world.member),
                              world.policy.id)
    item = claim["items"][0]["id"]
    run = CliRunner().invoke
    r = run(cli, ["claims", "decide", str(claim["id"]), "--approve", f"{item}=30000",
                  "--reason", "hospital record: onset 20 hours before",
                  "--documents-reason", f.ON_PAPER["documents_reason"], "--by", first.username])
    assert r.exit_code == 0 and "waits for a second approver" in r.output, r.output
    listed = run(cli, ["claims", "list", "--status", "awaiting_approval", "--json"])
    assert [c["id"] for c in json.loads(listed.stdout)["items"]] == [claim["id"]]
    assert "awaiting a second approver" in run(cli, ["claims", "show", str(claim["id"])]).output
    own = run(cli, ["claims", "approve-override", str(claim["id"]), "--by", first.username])
    assert own.exit_code != 0
    done = run(cli, ["claims", "approve-override", str(claim["id"]), "--by", second.username,
                     "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["approved"] == "30000.00"
    get_settings.cache_clear()
