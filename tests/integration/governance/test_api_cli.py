"""The governance API with roles, and the CLI, on the real database."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from mutua.auth.roles import Role
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.governance import ballots as governance_ballots
from mutua.governance import service
from tests import factories
from tests.integration.governance.helpers import SECRETARY, as_member


def _pool(db, n=3):
    today = shanghai_today()
    product = factories.accident_project(db, code="API", today=today)
    people = []
    for _ in range(n):
        m = factories.member(db, login=True)
        factories.policy(db, member=m, product_code=product.code,
                         on=today - timedelta(days=5))
        people.append(m)
    outsider = factories.member(db, login=True)
    db.commit()
    return product, people, outsider


def _body(project_id, **kw):
    now = utcnow()
    body = {"kind": "motion", "project_id": project_id, "title_zh": "议案", "title_en": "Motion",
            "quorum": "0.5", "opens_at": (now - timedelta(hours=1)).isoformat(),
            "closes_at": (now + timedelta(days=7)).isoformat()}
    body.update(kw)
    return body


def test_vote_through_the_api_with_roles_and_refusals(client, db):
    product, people, outsider = _pool(db)
    sec = factories.staff_headers(client, db, Role.SECRETARY)
    alice = factories.member_headers(client, db, people[0])
    bob = factories.member_headers(client, db, people[1])
    stranger = factories.member_headers(client, db, outsider)
    # members cannot make proposals; the secretary can
    assert client.post("/api/v1/governance/proposals", json=_body(product.project_id),
                       headers=alice).status_code == 403
    r = client.post("/api/v1/governance/proposals", json=_body(product.project_id), headers=sec)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["scope"] == f"project:{product.project_id}"
    r = client.post(f"/api/v1/governance/proposals/{pid}/open", headers=sec)
    assert r.status_code == 200 and r.json()["eligible"] == 3
    url = f"/api/v1/governance/proposals/{pid}/ballots"
    assert client.post(url, json={"choice": ["yes"]}, headers=sec).status_code == 403
    r = client.post(url, json={"choice": ["yes"]}, headers=alice)
    assert r.status_code == 201 and len(r.json()["secret"]) == 64
    receipt = r.json()
    assert client.post(url, json={"choice": ["no"]}, headers=alice).status_code == 409
    bad = client.post(url, json={"choice": ["perhaps"]}, headers=bob)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "choice"
    assert client.post(url, json={"choice": ["yes"]}, headers=stranger).status_code in (403, 404)
    # no running tally while voting is open
    assert client.get(f"/api/v1/governance/proposals/{pid}/result",
                      headers=sec).status_code == 409
    # a member's participation is theirs alone
    own = client.get(f"/api/v1/governance/members/{people[0].id}/participation", headers=alice)
    assert own.status_code == 200 and own.json()["items"][0]["has_voted"] is True
    assert client.get(f"/api/v1/governance/members/{people[1].id}/participation",
                      headers=alice).status_code == 403
    check = client.post(f"/api/v1/governance/proposals/{pid}/verify",
                        json={"secret": receipt["secret"], "choice": ["yes"]}, headers=alice)
    assert check.status_code == 200 and check.json()["counted"] is True
    # an outsider does not even see the proposal
    assert client.get(f"/api/v1/governance/proposals/{pid}", headers=stranger).status_code == 404
    listed = client.get("/api/v1/governance/proposals", headers=stranger).json()
    assert listed["total"] == 0


def test_close_publish_and_cli(client, db, engine, monkeypatch):
    product, people, _ = _pool(db)
    now = utcnow()
    p = service.create_proposal(db, kind="motion", project_id=product.project_id,
                                title_zh="议案", title_en="Motion", quorum="0.5",
                                opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1),
                                actor=SECRETARY)
    service.open_proposal(db, proposal_id=p.id, actor=SECRETARY, now=now - timedelta(days=2))
    during = now - timedelta(days=1, hours=12)
    for m, c in zip(people, ["yes", "yes", "abstain"], strict=True):
        governance_ballots.cast_ballot(db, proposal_id=p.id, choice=[c], actor=as_member(m), now=during)
    db.commit()
    sec = factories.staff_headers(client, db, Role.SECRETARY)
    r = client.post(f"/api/v1/governance/proposals/{p.id}/close", headers=sec)
    assert r.status_code == 200 and r.json()["passed"] is True
    alice = factories.member_headers(client, db, people[0])
    res = client.get(f"/api/v1/governance/proposals/{p.id}/result", headers=alice).json()
    assert (res["eligible"], res["turnout"], res["quorum_met"]) == (3, 3, True)
    rec = client.get(f"/api/v1/governance/proposals/{p.id}/receipts", headers=alice).json()
    assert rec["total"] == 3
    mine = rec["items"][0]["receipt"]
    one = client.get(f"/api/v1/governance/proposals/{p.id}/receipts?receipt={mine}",
                     headers=alice).json()
    assert one["total"] == 1 and one["items"][0]["receipt"] == mine

    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    from mutua.settings import get_settings

    get_settings.cache_clear()
    from mutua.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["governance", "proposals", "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert rows[0] == {**rows[0], "id": p.id, "kind": "motion",
                       "scope": f"project:{product.project_id}", "status": "closed"}
    out = runner.invoke(app, ["governance", "tally", str(p.id), "--json"])
    assert out.exit_code == 0, out.output
    tally = json.loads(out.output)
    assert tally["eligible"] == 3 and tally["turnout"] == 3 and tally["passed"] is True
    assert tally["options"] == [{"option": "yes", "votes": 2}, {"option": "no", "votes": 0},
                                {"option": "abstain", "votes": 1}]
    get_settings.cache_clear()


def test_cli_tally_of_an_open_proposal_is_an_error(db, engine, monkeypatch):
    product, _, _ = _pool(db)
    now = utcnow()
    p = service.create_proposal(db, kind="motion", project_id=None, title_zh="议案",
                                title_en="Motion", quorum="0.1", opens_at=now,
                                closes_at=now + timedelta(days=3), actor=SECRETARY)
    service.open_proposal(db, proposal_id=p.id, actor=SECRETARY)
    db.commit()
    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    from mutua.settings import get_settings

    get_settings.cache_clear()
    from mutua.cli import app

    out = CliRunner().invoke(app, ["governance", "tally", str(p.id), "--json"])
    assert out.exit_code != 0
    get_settings.cache_clear()


def test_meetings_feedback_and_ratings_over_http(client, db):
    product, people, outsider = _pool(db)
    sec = factories.staff_headers(client, db, Role.SECRETARY)
    alice = factories.member_headers(client, db, people[0])
    stranger = factories.member_headers(client, db, outsider)
    m = client.post("/api/v1/governance/meetings", headers=sec, json={
        "project_id": product.project_id, "title_zh": "恳谈会", "title_en": "Meeting",
        "mode": "in_person", "place": "深圳", "starts_at": utcnow().isoformat()})
    assert m.status_code == 201, m.text
    mid = m.json()["id"]
    assert client.post(f"/api/v1/governance/meetings/{mid}/registrations",
                       headers=alice).status_code == 201
    assert client.post(f"/api/v1/governance/meetings/{mid}/registrations",
                       headers=stranger).status_code == 404
    fb = client.post("/api/v1/governance/feedback", headers=alice,
                     json={"text": "希望增加线上会议", "meeting_id": mid})
    assert fb.status_code == 201
    up = client.patch(f"/api/v1/governance/feedback/{fb.json()['id']}", headers=alice,
                      json={"status": "done"})
    assert up.status_code == 403
    from mutua.policies.models import Policy

    pol = db.query(Policy).filter(Policy.member_id == people[0].id).one()
    for score in (0, 6):
        r = client.post("/api/v1/governance/ratings", headers=alice,
                        json={"service_kind": "enrolment", "service_ref": pol.id, "score": score})
        assert r.status_code == 422 and r.json()["problems"][0]["field"] == "score"
    r = client.post("/api/v1/governance/ratings", headers=alice,
                    json={"service_kind": "enrolment", "service_ref": pol.id, "score": 1,
                          "comment": "too slow"})
    assert r.status_code == 201
    again = client.post("/api/v1/governance/ratings", headers=alice,
                        json={"service_kind": "enrolment", "service_ref": pol.id, "score": 4})
    assert again.status_code == 409
    summary = client.get("/api/v1/governance/ratings/summary", headers=sec).json()
    assert summary[0]["low_scores"] == 1
    assert client.get("/api/v1/governance/ratings/summary", headers=alice).status_code == 403
    follow = client.get("/api/v1/governance/feedback?status=open", headers=sec).json()
    assert {i["source"] for i in follow["items"]} == {"rating", "meeting"}
    assert client.get(f"/api/v1/governance/members/{people[1].id}/ratings",
                      headers=alice).status_code == 403


@pytest.mark.parametrize("payload", [
    {"uplift": "0.5", "aid": "0.3", "services": "0.1", "effective_from": "2099Q1"}])
def test_invalid_payload_over_http_is_422_and_stores_nothing(client, db, payload):
    product, _, _ = _pool(db)
    sec = factories.staff_headers(client, db, Role.SECRETARY)
    r = client.post("/api/v1/governance/proposals", headers=sec,
                    json=_body(product.project_id, kind="allocation", payload=payload))
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "payload.shares"
    assert client.get("/api/v1/governance/proposals", headers=sec).json()["total"] == 0


def test_pricing_proposals_are_for_the_actuary(client, db):
    product, _, _ = _pool(db)
    now = utcnow()
    body = {"product_id": product.id, "experience_from": "2026-01-01",
            "experience_to": "2026-06-30", "opens_at": now.isoformat(),
            "closes_at": (now + timedelta(days=7)).isoformat()}
    sec = factories.staff_headers(client, db, Role.SECRETARY)
    act = factories.staff_headers(client, db, Role.ACTUARY)
    assert client.post("/api/v1/governance/proposals/pricing", json=body,
                       headers=sec).status_code == 403
    # no later period and no claims yet: refused with the reason, nothing stored
    r = client.post("/api/v1/governance/proposals/pricing", json=body, headers=act)
    assert r.status_code == 422, r.text
    assert client.get("/api/v1/governance/proposals", headers=sec).json()["total"] == 0


def test_a_member_cannot_read_another_members_receipt_record(client, db):
    """Receipts are never stored against a member; what is, is the member's own business."""
    product, people, _ = _pool(db)
    alice = factories.member_headers(client, db, people[0])
    r = client.get(f"/api/v1/governance/members/{people[1].id}/participation", headers=alice)
    assert r.status_code == 403
    sec = factories.staff_headers(client, db, Role.CLAIMS)
    assert client.get(f"/api/v1/governance/members/{people[1].id}/participation",
                      headers=sec).status_code == 403
