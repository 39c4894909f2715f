"""A member never reaches another member's records, sign-in is rate-limited, tokens expire."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mutua.auth.roles import Role
from mutua.auth.security import Principal, credentials_stamp, issue_token
from mutua.dates import today as shanghai_today
from mutua.health.models import Observation
from mutua.settings import Settings
from mutua.web.app import create_app
from tests import factories as f


@pytest.fixture
def two_members(client, db):
    """Members A and B, each with a policy, A with a claim and a kidney result."""
    f.accident_project(db)
    a, b = f.member(db, login=True, name="会员甲"), f.member(db, login=True, name="会员乙")
    earlier = shanghai_today() - timedelta(days=20)
    pa, pb = f.policy(db, member=a, on=earlier), f.policy(db, member=b, on=earlier)
    ha, hb = f.member_headers(client, db, a), f.member_headers(client, db, b)
    r = client.post("/api/v1/claims", headers=ha, json={
        "policy_id": pa.id, "event_type": "accident",
        "event_date": (shanghai_today() - timedelta(days=2)).isoformat(), "place": "深圳",
        "description": "扭伤", "items": [
            {"benefit_code": "medical", "invoice_amount": "800", "has_social_insurance": True}]})
    assert r.status_code == 201, r.text
    care = f.staff_headers(client, db, Role.CARE)
    r = client.post("/api/v1/health/observations", headers=care, json={"items": [
        {"member_id": a.id, "kind": "creatinine", "value": 150, "unit": "umol/L",
         "effective_at": (shanghai_today() - timedelta(days=3)).isoformat()}]})
    assert r.status_code == 201, r.text
    return {"a": a, "b": b, "pa": pa, "pb": pb, "claim_a": _claim_id(client, ha), "ha": ha, "hb": hb}


def _claim_id(client, headers) -> int:
    return client.get("/api/v1/claims", headers=headers).json()["items"][0]["id"]


def reads_of_a(t) -> list[str]:
    a, pa, claim = t["a"].id, t["pa"].id, t["claim_a"]
    return [
        f"/api/v1/members/{a}",
        f"/api/v1/policies/{pa}",
        f"/api/v1/policies/by-member/{a}",
        f"/api/v1/claims/{claim}",
        f"/api/v1/claims/{claim}/documents",
        f"/api/v1/settlement/members/{a}/statement",
        f"/api/v1/governance/members/{a}/participation",
        f"/api/v1/health/patients/{a}",
        f"/api/v1/health/patients/{a}/observations",
        f"/me/policies/{pa}",
        f"/me/claims/{claim}",
    ]


def test_member_b_reads_nothing_of_member_a(client, two_members):
    t = two_members
    for url in reads_of_a(t):
        assert client.get(url, headers=t["ha"]).status_code == 200, url  # A may read A's own
        r = client.get(url, headers=t["hb"], follow_redirects=False)
        assert r.status_code in (403, 404), (url, r.status_code)
        assert t["a"].id_number not in r.text and "会员甲" not in r.text, url


def test_member_b_writes_nothing_on_member_a(client, db, two_members):
    t = two_members
    hb, claim = t["hb"], t["claim_a"]
    attempts = [
        ("post", f"/api/v1/policies/{t['pa'].id}/cancel", {}),
        ("post", f"/api/v1/claims/{claim}/appeal", {"reason": "not mine to appeal"}),
        ("post", "/api/v1/claims", {"policy_id": t["pa"].id, "event_type": "accident",
                                    "event_date": shanghai_today().isoformat(),
                                    "items": [{"benefit_code": "medical", "invoice_amount": "100"}]}),
    ]
    for method, url, body in attempts:
        r = client.request(method, url, headers=hb, json=body)
        assert r.status_code in (403, 404, 409, 422), (url, r.status_code, r.text)
        assert r.status_code != 422 or "another member" in r.text or "policy" in r.text, r.text
    before = db.scalar(select(func.count()).select_from(Observation))
    r = client.post("/api/v1/health/observations", headers=hb, json={"items": [
        {"member_id": t["a"].id, "kind": "creatinine", "value": 900, "unit": "umol/L",
         "effective_at": shanghai_today().isoformat()}]})
    assert r.status_code in (403, 404), r.text
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Observation)) == before
    assert client.get(f"/api/v1/policies/{t['pa'].id}", headers=t["ha"]).json()["status"] == "in_force"


def test_sign_in_is_rate_limited(engine, db, tmp_path):
    user = f.staff(db, Role.FINANCE)
    db.commit()
    settings = Settings(database_url=engine.test_url, upload_dir=tmp_path, login_attempts_per_minute=3)
    with TestClient(create_app(settings, engine=engine)) as c:
        for _ in range(3):
            r = c.post("/api/v1/auth/token", data={"username": user.username, "password": "wrong-password"})
            assert r.status_code == 401
        r = c.post("/api/v1/auth/token", data={"username": user.username, "password": f.PASSWORD})
        assert r.status_code == 429, r.text  # even the right password waits out the minute
        other = f.staff(db, Role.CLAIMS)
        db.commit()
        ok = c.post("/api/v1/auth/token", data={"username": other.username, "password": f.PASSWORD})
        assert ok.status_code == 200  # the limit is per login, not global


def test_pages_sign_in_is_rate_limited_too(engine, db, tmp_path):
    import re

    user = f.staff(db, Role.FINANCE)
    db.commit()
    settings = Settings(database_url=engine.test_url, upload_dir=tmp_path, login_attempts_per_minute=2)
    with TestClient(create_app(settings, engine=engine)) as c:
        def attempt(password):
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/signin").text).group(1)
            return c.post("/signin", data={"csrf_token": csrf, "login": user.username,
                                           "password": password}, follow_redirects=False)

        assert attempt("wrong-1").status_code == 401
        assert attempt("wrong-2").status_code == 401
        assert attempt(f.PASSWORD).status_code == 429


@pytest.mark.parametrize("minutes, secret", [(-1, None), (30, "another-secret-of-sufficient-length-000")])
def test_expired_or_foreign_tokens_are_refused(client, db, settings, minutes, secret):
    user = f.staff(db, Role.ADMIN)
    db.commit()
    principal = Principal(user_id=user.id, username=user.username, role=Role.ADMIN)
    token = issue_token(principal, secret=secret or settings.secret_key, minutes=minutes,
                        stamp=credentials_stamp(user.password_hash, secret=settings.secret_key))
    r = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert ("expired" in r.text) == (minutes < 0)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."])
def test_garbage_tokens_are_refused(client, token):
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
