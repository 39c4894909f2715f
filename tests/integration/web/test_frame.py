"""The frame of the pages: language, sign-in, sessions, CSRF, error pages, roles."""

from __future__ import annotations

import pytest

from mutua.auth.roles import Role
from tests.integration.web.conftest import csrf_of, post_form, sign_in


def test_sign_in_page_is_chinese_by_default_and_english_when_chosen(client):
    page = client.get("/signin")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and "登录" in page.text

    chosen = post_form(client, "/language", {"locale": "en", "next": "/signin"},
                       from_page="/signin")
    assert chosen.status_code == 303 and chosen.headers["location"] == "/signin"
    again = client.get("/signin")
    assert '<html lang="en">' in again.text and "Sign in" in again.text and "登录" not in again.text


def test_forms_without_the_token_are_refused(client, staff_user):
    staff_user(Role.CLAIMS, "handler")
    client.get("/signin")
    refused = client.post("/signin", data={"login": "handler", "password": "x"},
                          follow_redirects=False)
    assert refused.status_code == 403
    forged = client.post("/signin", data={"login": "handler", "password": "x",
                                          "csrf_token": "not-the-token"})
    assert forged.status_code == 403


def test_wrong_password_is_told_plainly(client, staff_user):
    staff_user(Role.CLAIMS, "handler")
    response = post_form(client, "/signin", {"login": "handler", "password": "wrong-pass"})
    assert response.status_code == 401
    assert "登录名或密码不正确" in response.text


def test_staff_sign_in_sets_a_signed_http_only_cookie_and_lands_on_their_part(client, staff_user):
    staff_user(Role.CLAIMS, "handler")
    response = sign_in(client, "handler")
    assert response.headers["location"] == "/staff/claims"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/", follow_redirects=False).headers["location"] == "/staff/claims"


def test_a_role_sees_only_its_part(client, staff_user):
    staff_user(Role.CLAIMS, "handler")
    sign_in(client, "handler")
    forbidden = client.get("/staff/audit")
    assert forbidden.status_code == 403
    assert "无权访问" in forbidden.text


def test_a_forged_cookie_signs_no_one_in(client, staff_user):
    client.cookies.set("mutua_session", "eyJ1aWQiOjF9.forged.signature")
    response = client.get("/staff/audit", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")


def test_sign_out_ends_the_session(client, staff_user):
    staff_user(Role.ADMIN, "boss")
    sign_in(client, "boss")
    assert client.get("/staff/audit").status_code == 200
    page = client.get("/staff/audit")
    out = client.post("/signout", data={"csrf_token": csrf_of(page.text)},
                      follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/staff/audit", follow_redirects=False).status_code == 303


def test_the_api_ignores_the_page_cookie(client, staff_user):
    staff_user(Role.ADMIN, "boss")
    sign_in(client, "boss")
    assert client.get("/api/v1/auth/me").status_code == 401


def test_missing_pages_are_html_and_missing_api_paths_stay_json(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "未找到" in page.text
    api = client.get("/api/v1/no/such")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")


def test_sign_in_only_follows_same_site_paths(client, staff_user):
    staff_user(Role.ADMIN, "boss")
    page = client.get("/signin?next=//evil.example/")
    response = client.post("/signin", data={"csrf_token": csrf_of(page.text), "login": "boss",
                                            "password": "correct-horse-9",
                                            "next": "//evil.example/"},
                           follow_redirects=False)
    assert response.headers["location"] == "/staff"


def test_a_demo_database_shows_its_sign_ins(client, db):
    from mutua.members import accounts

    DEMO_PASSWORD = pytest.importorskip("mutua.demo.builder").DEMO_PASSWORD

    accounts.create_user(db, username="admin", password=DEMO_PASSWORD, role=Role.ADMIN)
    db.commit()
    page = client.get("/signin")
    assert "演示账号" in page.text and DEMO_PASSWORD in page.text and "<code>claims</code>" in page.text


def test_an_ordinary_database_shows_no_sign_ins(client, staff_user):
    staff_user(Role.ADMIN, "admin")
    page = client.get("/signin")
    assert "演示账号" not in page.text


def test_a_deactivated_account_is_signed_out_at_once(client, db, staff_user):
    from sqlalchemy import update

    from mutua.auth.models import User

    staff_user(Role.ADMIN, "boss")
    sign_in(client, "boss")
    assert client.get("/staff/audit").status_code == 200
    db.execute(update(User).where(User.username == "boss").values(active=False))
    db.commit()
    response = client.get("/staff/audit", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/signin")


def test_pages_carry_security_headers_and_signed_in_pages_are_not_cached(client, staff_user):
    page = client.get("/signin")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    staff_user(Role.ADMIN, "boss")
    sign_in(client, "boss")
    assert client.get("/staff/audit").headers["cache-control"] == "private, no-store"
