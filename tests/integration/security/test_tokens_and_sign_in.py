"""Forged tokens and cookies, dead accounts, sign-in limits (issue 15 items 2 and 3).

The attack signed a token with the key printed in settings.py for a user that does not
exist, without ``exp``, and was admin; a session cookie forged the same way read another
member's claim; a deactivated account's token worked for 30 minutes; the sign-in limit
was walked around by spelling one login many ways; and an unknown login answered in a
fifth of the time a known one took.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
import pytest
from fastapi import Depends
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from mutua.auth.roles import Role
from mutua.auth.security import ALGORITHM, Principal, credentials_stamp, issue_token
from mutua.deps import DbSession, Router, allow, works_in_one_trip
from mutua.members import accounts
from mutua.ops import keys
from mutua.settings import PUBLISHED_KEYS, SecretKeyRefused, Settings, get_settings
from mutua.web import session as page_session
from mutua.web.app import create_app
from tests import factories as f
from tests.integration.web.conftest import post_form

SOURCE_KEY = next(iter(PUBLISHED_KEYS))  # the key settings.py carried as its default


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the key -------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, "", SOURCE_KEY, "short-key"])
def test_the_app_will_not_sign_with_no_key_the_source_key_or_a_short_one(key):
    with pytest.raises(SecretKeyRefused, match="MUTUA_SECRET_KEY"):
        create_app(Settings(database_url="sqlite://", secret_key=key))


def test_mutua_serve_refuses_to_start_without_a_key_outside_a_demo(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MUTUA_SECRET_KEY"}
    env["MUTUA_DATABASE_URL"] = f"sqlite:///{tmp_path}/mutua.db"
    run = subprocess.run([sys.executable, "-c", "from mutua.cli import main; main()", "serve",
                          "--port", "9"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2, run.stderr
    assert "MUTUA_SECRET_KEY is not set" in run.stderr
    assert "Traceback" not in run.stderr


def test_mutua_serve_runs_the_measured_server_without_an_access_log_unless_asked(monkeypatch):
    from typer.testing import CliRunner

    from mutua.cli import app as cli_app
    from mutua.ops import serving

    started: list[tuple] = []
    monkeypatch.setattr(serving, "serve", lambda listen, workers: started.append(
        (listen, workers)) or 0)
    for args, logged in (([], False), (["--access-log"], True)):
        result = CliRunner().invoke(cli_app, ["serve", "--workers", "2", *args])
        assert result.exit_code == 0, result.output
        assert started[-1][0].access_log is logged and started[-1][1] == 2


def test_the_demo_makes_its_own_key_private_to_its_owner_and_serve_uses_it(tmp_path, monkeypatch):
    from mutua.ops import cli as ops_cli

    path = tmp_path / "var" / "demo-secret.key"
    assert keys.make_demo_key(path)
    assert not keys.make_demo_key(path)  # a rebuilt demo keeps its key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.delenv("MUTUA_SECRET_KEY")
    monkeypatch.delenv("MUTUA_PAYMENT_CALLBACK_SECRET", raising=False)  # gone again after
    monkeypatch.setenv("MUTUA_DEMO_KEY_FILE", str(path))
    get_settings.cache_clear()
    try:
        ops_cli._signing_key_or_demo_key()
        assert os.environ["MUTUA_SECRET_KEY"] == path.read_text().strip()
        assert len(os.environ["MUTUA_SECRET_KEY"]) >= 48
        # the demo's members can pay the fake provider: its callbacks get a secret of their own
        payment_secret = os.environ["MUTUA_PAYMENT_CALLBACK_SECRET"]
        assert len(payment_secret) == 64 and payment_secret != os.environ["MUTUA_SECRET_KEY"]
        assert get_settings().payment_callback_secret == payment_secret
        path.chmod(0o644)
        monkeypatch.delenv("MUTUA_SECRET_KEY")
        get_settings.cache_clear()
        with pytest.raises(SecretKeyRefused, match="chmod 600"):
            ops_cli._signing_key_or_demo_key()
    finally:
        get_settings.cache_clear()


# --- tokens --------------------------------------------------------------------------------

def _forged(secret: str, **claims) -> str:
    return jwt.encode({"sub": "424242", "usr": "ghost", "role": "admin", "mid": None, **claims},
                      secret, algorithm=ALGORITHM)


def test_a_token_forged_with_the_source_key_for_no_user_and_no_exp_is_refused(client):
    r = client.get("/api/v1/audit", headers=bearer(_forged(SOURCE_KEY)))
    assert r.status_code == 401


def test_a_token_without_exp_or_iat_is_refused_even_with_the_real_key(client, db, settings):
    user = f.staff(db, Role.ADMIN)
    db.commit()
    stamp = credentials_stamp(user.password_hash, secret=settings.secret_key)
    now = datetime.now(UTC)
    base = {"sub": str(user.id), "usr": user.username, "role": "admin", "mid": None, "pwd": stamp}
    for claims in ({**base, "iat": now}, {**base, "exp": now + timedelta(minutes=5)}):
        token = jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)
        assert client.get("/api/v1/audit", headers=bearer(token)).status_code == 401
    good = jwt.encode({**base, "iat": now, "exp": now + timedelta(minutes=5)},
                      settings.secret_key, algorithm=ALGORITHM)
    assert client.get("/api/v1/audit", headers=bearer(good)).status_code == 200


def test_a_validly_signed_token_for_a_user_that_does_not_exist_is_refused(client, settings):
    token = _forged(settings.secret_key, iat=datetime.now(UTC), pwd="x",
                    exp=datetime.now(UTC) + timedelta(minutes=5))
    r = client.get("/api/v1/audit", headers=bearer(token))
    assert r.status_code == 401


def test_a_token_that_claims_another_role_than_its_account_is_refused(client, db, settings):
    user = f.staff(db, Role.FINANCE)
    db.commit()
    principal = accounts.principal_of(user)
    raised = principal.__class__(user_id=user.id, username=user.username, role=Role.ADMIN)
    token = issue_token(raised, secret=settings.secret_key, minutes=5,
                        stamp=credentials_stamp(user.password_hash, secret=settings.secret_key))
    assert client.get("/api/v1/audit", headers=bearer(token)).status_code == 401


def test_a_deactivated_accounts_token_is_refused_on_its_next_request(client, db):
    user = f.staff(db, Role.ADMIN)
    headers = f.staff_headers_for(client, db, user)
    assert client.get("/api/v1/audit", headers=headers).status_code == 200
    accounts.set_active(db, username=user.username, active=False)
    db.commit()
    r = client.get("/api/v1/audit", headers=headers)
    assert r.status_code == 401
    assert "deactivated" in r.json()["message"]


def test_a_dead_token_enrols_nobody_even_where_the_route_reads_its_account(client, db):
    """POST /policies reads the caller's account in its own transaction (deps.current_principal):
    a deactivated account, or one whose role changed, is still refused 401 before anything is
    written, and before its input is judged (401, not 422)."""
    from sqlalchemy import func, select

    from mutua.policies.models import Policy

    f.accident_project(db)
    member = f.member(db)
    body = {"product_code": "TEST-ACC-1", "period_code": "P1", "member_id": member.id}
    moved, retired = f.staff(db, Role.UNDERWRITER), f.staff(db, Role.UNDERWRITER)
    moved_headers = f.staff_headers_for(client, db, moved)
    retired_headers = f.staff_headers_for(client, db, retired)
    moved.role = Role.FINANCE.value
    accounts.set_active(db, username=retired.username, active=False)
    db.commit()
    for headers, says in ((retired_headers, "deactivated"), (moved_headers, "role")):
        for sent in (body, {"period_code": "P1"}):
            r = client.post("/api/v1/policies", headers=headers, json=sent)
            assert r.status_code == 401, r.text
            assert says in r.json()["message"]
            assert r.headers["WWW-Authenticate"] == "Bearer"
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Policy)) == 0


def test_a_password_change_ends_the_tokens_issued_before_it(client, db):
    user = f.staff(db, Role.FINANCE)
    old = f.staff_headers_for(client, db, user)
    r = client.post("/api/v1/auth/password", headers=old,
                    json={"current_password": f.PASSWORD, "new_password": "a-new-password-77"})
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/auth/me", headers=old).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(r.json()["access_token"])).status_code == 200
    assert client.post("/api/v1/auth/token", data={"username": user.username,
                                                   "password": "a-new-password-77"}).status_code == 200


def test_a_password_change_needs_the_current_password(client, db):
    user = f.staff(db, Role.FINANCE)
    headers = f.staff_headers_for(client, db, user)
    r = client.post("/api/v1/auth/password", headers=headers,
                    json={"current_password": "not-it-at-all", "new_password": "a-new-password-77"})
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "current_password"
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200


# --- page sessions -------------------------------------------------------------------------

def _sign_in_page(client, login: str) -> None:
    r = post_form(client, "/signin", {"login": login, "password": f.PASSWORD})
    assert r.status_code == 303, r.text[:300]


def test_a_session_cookie_forged_with_the_source_key_reads_nothing(client, db):
    f.accident_project(db)
    a = f.member(db, login=True)
    db.commit()
    victim = f.login_of(db, a)
    forged = page_session.dumps({"csrf": "x", "uid": victim.id, "usr": victim.username,
                                 "role": "member", "mid": a.id}, secret=SOURCE_KEY)
    client.cookies.set(page_session.SESSION_COOKIE, forged)
    r = client.get("/me", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")


def test_a_deactivated_or_repassworded_account_is_signed_out_of_the_pages(client, db):
    user = f.staff(db, Role.FINANCE)
    db.commit()
    _sign_in_page(client, user.username)
    assert client.get("/staff/finance", follow_redirects=False).status_code == 200
    accounts.set_password(db, username=user.username, password="another-password-1")
    db.commit()
    r = client.get("/staff/finance", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")

    _sign_in_page_with(client, user.username, "another-password-1")
    assert client.get("/staff/finance", follow_redirects=False).status_code == 200
    accounts.set_active(db, username=user.username, active=False)
    db.commit()
    r = client.get("/staff/finance", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")


def _sign_in_page_with(client, login: str, password: str) -> None:
    r = post_form(client, "/signin", {"login": login, "password": password})
    assert r.status_code == 303, r.text[:300]


# --- sign-in limits ------------------------------------------------------------------------

def limited_app(engine, tmp_path, *, per_account: int = 1000, per_address: int = 1000):
    settings = Settings(database_url=engine.test_url, upload_dir=tmp_path,
                        login_attempts_per_minute=per_account,
                        login_attempts_per_minute_per_address=per_address)
    return TestClient(create_app(settings, engine=engine))


def test_spellings_of_one_login_count_against_one_account(engine, db, tmp_path):
    f.accident_project(db)
    m = f.member(db, login=True)
    db.commit()
    digits = m.phone[3:]  # +86 13900000001 -> 13900000001
    spellings = [digits, f"{digits[:3]} {digits[3:7]} {digits[7:]}", f"+86-{digits}",
                 m.member_number.lower(), f" {m.member_number} ",
                 "".join(chr(ord(c) + 0xFEE0) for c in digits)]  # full-width digits
    with limited_app(engine, tmp_path, per_account=len(spellings)) as c:
        for login in spellings:
            r = c.post("/api/v1/auth/token", data={"username": login, "password": "wrong-password"})
            assert r.status_code == 401, (login, r.text)
        r = c.post("/api/v1/auth/token", data={"username": m.member_number, "password": f.PASSWORD})
        assert r.status_code == 429, r.text


def test_one_address_trying_many_accounts_is_limited(engine, db, tmp_path):
    users = [f.staff(db, Role.CLAIMS) for _ in range(4)]
    db.commit()
    with limited_app(engine, tmp_path, per_address=3) as c:
        for user in users[:3]:
            r = c.post("/api/v1/auth/token", data={"username": user.username, "password": "nope-nope"})
            assert r.status_code == 401
        r = c.post("/api/v1/auth/token", data={"username": users[3].username, "password": f.PASSWORD})
        assert r.status_code == 429


def test_any_spelling_of_a_login_signs_in(client, db):
    f.accident_project(db)
    m = f.member(db, login=True)
    db.commit()
    for login in (m.member_number.lower(), m.phone, m.phone[3:], f"\u3000{m.member_number}"):
        r = client.post("/api/v1/auth/token", data={"username": login, "password": f.PASSWORD})
        assert r.status_code == 200, (login, r.text)


def test_an_unknown_login_is_verified_against_a_dummy_hash_like_a_known_one(client, db, monkeypatch):
    user = f.staff(db, Role.CLAIMS)
    inactive = f.staff(db, Role.CLAIMS)
    accounts.set_active(db, username=inactive.username, active=False)
    db.commit()
    verified: list[str] = []
    real = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password",
                        lambda h, p: verified.append(h) or real(h, p))
    for login in ("nobody-at-all", user.username, inactive.username):
        r = client.post("/api/v1/auth/token", data={"username": login, "password": "wrong-password"})
        assert r.status_code == 401
    dummy = accounts.dummy_hash()
    assert verified == [dummy, user.password_hash, inactive.password_hash]
    assert dummy.startswith("$argon2") and dummy.split("$")[3] == user.password_hash.split("$")[3]


def test_a_dead_token_reads_no_policy_list_where_the_list_reads_its_account(client, db):
    """The policy lists read the caller's account in their one trip (deps.works_in_one_trip):
    a deactivated member's token is refused 401, on their own list and on another member's
    (401 for the account before 404 for the member), as before."""
    f.accident_project(db)
    member, other = f.member(db, login=True), f.member(db)
    headers = f.member_headers(client, db, member)
    assert client.get("/api/v1/policies/mine", headers=headers).status_code == 200
    accounts.set_active(db, username=member.member_number, active=False)
    db.commit()
    for path in ("/api/v1/policies/mine", f"/api/v1/policies/by-member/{member.id}",
                 f"/api/v1/policies/by-member/{other.id}"):
        r = client.get(path, headers=headers)
        assert r.status_code == 401, (path, r.text)
        assert "deactivated" in r.json()["message"]


def test_a_route_marked_for_one_trip_that_never_takes_it_still_checks_the_caller(app, client, db):
    """Should a route marked works_in_one_trip answer without its trip, the caller's account
    is still read before the answer leaves (get_db), not skipped."""
    router = Router()

    @router.get("/api/v1/early")
    @works_in_one_trip
    async def early(db: DbSession, actor: Annotated[Principal, Depends(allow(Role.FINANCE))]):
        return JSONResponse({"answered": actor.username})

    app.router.routes.insert(0, router.routes[0])
    user = f.staff(db, Role.FINANCE)
    headers = f.staff_headers_for(client, db, user)
    assert router.routes[0].checks_caller_in_its_trip == {Role.FINANCE, Role.ADMIN}
    r = client.get("/api/v1/early", headers=headers)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.json() == {"answered": user.username}
    accounts.set_active(db, username=user.username, active=False)
    db.commit()
    assert client.get("/api/v1/early", headers=headers).status_code == 401
