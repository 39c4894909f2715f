"""The premium cycle at the edges: API (finance only; the callback signed, not signed in),
and the CLI's lapse run."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from mutua.auth.roles import Role
from mutua.cli import app as cli
from mutua.payments.provider import FakeProvider
from mutua.policies import domain
from mutua.settings import get_settings
from tests import factories as f
from tests.jobs import result

from .conftest import TODAY, unpaid

ROWS = "transaction_id,paid_on,amount,reference,member_number\n"


def test_finance_uploads_a_file_and_works_the_queue_over_http(client, db, product):
    m = f.member(db)
    p = unpaid(db, m)
    db.commit()
    data = (ROWS + f"T1,{TODAY},10.00,{p.policy_number},{m.member_number}\n"
            f"T2,{TODAY},26.50,{p.policy_number},{m.member_number}\n").encode()
    files = {"file": ("bank.csv", data, "text/csv")}
    form = {"project": "TEST-ACC", "source": "bank"}
    assert client.post("/api/v1/premiums/files", files=files, data=form,
                       headers=f.staff_headers(client, db, Role.CLAIMS)).status_code == 403
    fin = f.staff_headers(client, db, Role.FINANCE)
    r = client.post("/api/v1/premiums/files", files=files, data=form, headers=fin)
    assert result(client, r, fin)["queued"] == 2
    again = client.post("/api/v1/premiums/files", files=files, data=form, headers=fin)
    assert again.status_code == 409
    queue = client.get("/api/v1/premiums/queue?project=TEST-ACC", headers=fin).json()
    assert queue["total"] == 2
    for item in queue["items"]:
        r = client.post(f"/api/v1/premiums/queue/{item['id']}/match",
                        json={"reference": p.policy_number}, headers=fin)
        assert r.status_code == 200, r.text
    db.expire_all()
    db.refresh(p)
    assert p.status == domain.IN_FORCE
    unknown = client.post(f"/api/v1/premiums/queue/{queue['items'][0]['id']}/match",
                          json={"reference": "P404"}, headers=fin)
    assert unknown.status_code == 409  # already matched: the queue item is closed


def test_a_member_sees_their_dues_and_checks_out_only_their_own(client, db, product):
    m, other = f.member(db, login=True), f.member(db)
    p, q = unpaid(db, m), unpaid(db, other)
    db.commit()
    h = f.member_headers(client, db, m)
    dues = client.get(f"/api/v1/premiums/members/{m.id}/dues", headers=h).json()
    assert [d["reference"] for d in dues] == [p.policy_number]
    assert client.get(f"/api/v1/premiums/members/{other.id}/dues",
                      headers=h).status_code == 404
    ok = client.post("/api/v1/premiums/checkout", headers=h,
                     json={"project": "TEST-ACC", "reference": p.policy_number})
    assert ok.status_code == 200 and ok.json()["amount"] == "36.50"
    assert client.post("/api/v1/premiums/checkout", headers=h, json={
        "project": "TEST-ACC", "reference": q.policy_number}).status_code == 404


def test_the_callback_route_verifies_the_signature(client, db, product, monkeypatch):
    monkeypatch.setenv("MUTUA_PAYMENT_CALLBACK_SECRET", "k" * 40)
    get_settings.cache_clear()
    try:
        m = f.member(db)
        p = unpaid(db, m)
        db.commit()
        body, sig = FakeProvider.callback("k" * 40, project_code="TEST-ACC",
                                          reference=p.policy_number, amount=p.premium,
                                          paid_on=TODAY.isoformat(),
                                          member_number=m.member_number)
        url = "/api/v1/premiums/callbacks/fake"
        bad = client.post(url, content=body, headers={"X-Signature": "0" * 64})
        assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "signature"
        r = client.post(url, content=body, headers={"X-Signature": sig})
        assert r.status_code == 200 and r.json()["state"] == "posted"
        assert client.post(url, content=body, headers={"X-Signature": sig}).status_code == 409
    finally:
        get_settings.cache_clear()


def test_the_lapse_command_lapses_what_is_past_grace(db, product, engine, monkeypatch):
    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    p = unpaid(db, f.member(db), on=TODAY - timedelta(days=45))
    db.commit()
    out = CliRunner().invoke(cli, ["premiums", "lapse", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"lapsed": 1, "reminded": 0}
    db.expire_all()
    assert db.get(type(p), p.id).status == domain.LAPSED
    get_settings.cache_clear()


def test_the_lapse_api_runs_as_a_job(client, db, product):
    p = unpaid(db, f.member(db), on=TODAY - timedelta(days=45))
    db.commit()
    fin = f.staff_headers(client, db, Role.FINANCE)
    r = client.post("/api/v1/premiums/lapse", json={}, headers=fin)
    assert result(client, r, fin)["lapsed"] == 1
    db.expire_all()
    assert db.get(type(p), p.id).status == domain.LAPSED
