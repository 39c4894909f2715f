"""Joining from the portal with a phone code, resetting a password, and one's sessions.

Each refusal (a wrong, expired or reused code, a flood of code requests, an ID number
already registered) says why and leaves no member and no login behind.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from mutua.auth.models import PhoneCode, SignInSession, User
from mutua.dates import utcnow
from mutua.members.idcard import make_id_number
from mutua.members.models import Member
from mutua.messaging.sms import read_console
from mutua.settings import Settings
from mutua.web.app import create_app
from tests import factories as f
from tests.integration.web.conftest import csrf_of, post_form

PHONE = "+8613700001111"
NEW_PASSWORD = "river-stone-77"


def details(**changes) -> dict:
    return {"name": "王小丫", "id_number": make_id_number("440305", date(1991, 2, 3), 24),
            "phone": "137 0000 1111", "occupation_code": "A0103", "city": "深圳", **changes}


@pytest.fixture
def sms_file(tmp_path):
    return tmp_path / "sms.log"


@pytest.fixture
def portal(engine, tmp_path, sms_file):
    settings = Settings(database_url=engine.test_url, upload_dir=tmp_path / "uploads",
                        login_attempts_per_minute=1000, sms_console_file=sms_file,
                        phone_codes_per_hour_per_phone=3, phone_codes_per_hour_per_address=5)
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def last_code(sms_file, phone: str = PHONE) -> str:
    text = read_console(sms_file, phone)[-1]["text"]
    return "".join(ch for ch in text.split("验证码")[1] if ch.isdigit())[:6]


def ask_code(portal, **changes):
    return post_form(portal, "/join/code", details(**changes), from_page="/join")


def join(portal, code: str, **changes):
    return post_form(portal, "/join", {**details(**changes), "sms_code": code,
                                       "password": NEW_PASSWORD,
                                       "password_again": NEW_PASSWORD}, from_page="/join")


def counts(db) -> tuple[int, int]:
    db.rollback()
    return (db.scalar(select(func.count()).select_from(Member)),
            db.scalar(select(func.count()).select_from(User).where(User.member_id.is_not(None))))


def test_a_person_joins_with_the_code_and_lands_on_enrolment(portal, db, sms_file):
    r = ask_code(portal)
    assert r.status_code == 200 and "sms_code" in r.text
    code = last_code(sms_file)
    stored = db.scalar(select(PhoneCode))
    assert code not in stored.code_hash and len(stored.code_hash) == 64  # only a keyed hash
    r = join(portal, code)
    assert r.status_code == 303 and r.headers["location"].startswith("/me/enrol")
    member = db.scalar(select(Member))
    assert member.phone == PHONE and member.name == "王小丫"
    assert portal.get("/me/enrol").status_code == 200  # signed in as the new member
    # and signs in again later by phone or member number
    portal.cookies.clear()
    for login in (PHONE, member.member_number):
        r = post_form(portal, "/signin", {"login": login, "password": NEW_PASSWORD})
        assert r.status_code == 303, login


def test_a_wrong_code_is_refused_and_stores_nothing(portal, db, sms_file):
    ask_code(portal)
    right = last_code(sms_file)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    r = join(portal, wrong)
    assert r.status_code == 422 and "验证码" in r.text
    assert counts(db) == (0, 0)
    assert join(portal, right).status_code == 303  # the right one still works


def test_an_expired_code_is_refused(portal, db, sms_file):
    ask_code(portal)
    db.execute(update(PhoneCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    r = join(portal, last_code(sms_file))
    assert r.status_code == 422 and "过期" in r.text
    assert counts(db) == (0, 0)


def test_a_code_is_used_once(portal, db, sms_file):
    ask_code(portal)
    code = last_code(sms_file)
    assert join(portal, code).status_code == 303
    portal.cookies.clear()
    r = join(portal, code, id_number=make_id_number("440305", date(1992, 2, 3), 26))
    assert r.status_code == 422 and "已使用" in r.text
    assert counts(db) == (1, 1)


def test_five_wrong_codes_kill_the_code(portal, db, sms_file):
    ask_code(portal)
    right = last_code(sms_file)
    for n in range(5):
        wrong = f"{(int(right) + 1 + n) % 1_000_000:06d}"
        assert join(portal, wrong).status_code == 422
    r = join(portal, right)
    assert r.status_code == 422 and "错误次数过多" in r.text
    assert counts(db) == (0, 0)


def test_a_flood_of_code_requests_is_refused(portal, db, sms_file):
    for _ in range(3):
        assert ask_code(portal).status_code == 200
    r = ask_code(portal)
    assert r.status_code == 429 and "一小时" in r.text
    assert len(read_console(sms_file, PHONE)) == 3
    assert db.scalar(select(func.count()).select_from(PhoneCode)) == 3


def test_one_address_asking_codes_for_many_phones_is_refused(portal, db, sms_file):
    for n in range(5):
        phone = f"137 0000 20{n:02d}"
        assert ask_code(portal, phone=phone,
                        id_number=make_id_number("440305", date(1990, 1, 1), 2 + 2 * n)
                        ).status_code == 200
    r = ask_code(portal, phone="137 0000 2099")
    assert r.status_code == 429
    assert db.scalar(select(func.count()).select_from(PhoneCode)) == 5


def test_an_id_number_already_registered_is_refused_before_any_code(portal, db, sms_file):
    f.accident_project(db)
    existing = f.member(db)
    db.commit()
    r = ask_code(portal, id_number=existing.id_number)
    assert r.status_code == 409 and "已登记" in r.text
    assert read_console(sms_file) == []
    assert counts(db) == (1, 0)


def test_bad_details_are_all_named_and_no_code_is_sent(portal, sms_file):
    r = ask_code(portal, id_number="440305199102030000", phone="12345", occupation_code="")
    assert r.status_code == 422
    for label in ("身份证号", "手机", "职业"):
        assert label in r.text
    assert read_console(sms_file) == []


def test_a_forgotten_password_is_reset_by_phone_code_and_ends_other_sessions(portal, db,
                                                                            sms_file):
    ask_code(portal)
    assert join(portal, last_code(sms_file)).status_code == 303
    other = TestClient(portal.app)
    assert post_form(other, "/signin", {"login": PHONE, "password": NEW_PASSWORD}
                     ).status_code == 303
    assert other.get("/me", follow_redirects=False).status_code == 200
    r = post_form(portal, "/reset/code", {"login": PHONE}, from_page="/reset")
    assert r.status_code == 200
    r = post_form(portal, "/reset", {"login": PHONE, "sms_code": last_code(sms_file),
                                     "password": "a-new-password-1",
                                     "password_again": "a-new-password-1"}, from_page="/reset")
    assert r.status_code == 303
    assert other.get("/me", follow_redirects=False).status_code == 303  # signed out there
    db.rollback()
    assert db.scalar(select(func.count()).select_from(SignInSession)
                     .where(SignInSession.ended_at.is_(None))) == 1


def test_an_unknown_login_gets_the_same_answer_and_no_sms(portal, sms_file):
    r = post_form(portal, "/reset/code", {"login": "13799999999"}, from_page="/reset")
    assert r.status_code == 200
    assert read_console(sms_file) == []


def test_a_member_lists_sessions_and_signs_one_out(portal, db, sms_file):
    ask_code(portal)
    assert join(portal, last_code(sms_file)).status_code == 303
    phone_browser = TestClient(portal.app)
    post_form(phone_browser, "/signin", {"login": PHONE, "password": NEW_PASSWORD})
    page = portal.get("/account/sessions")
    assert page.status_code == 200 and page.text.count("/end\"") == 2
    db.rollback()
    newest = db.scalar(select(SignInSession).order_by(SignInSession.created_at.desc(),
                                                      SignInSession.id).limit(1))
    sids = [s.id for s in db.scalars(select(SignInSession))]
    theirs = [sid for sid in sids if sid != _sid_of(portal, sids)][0]
    r = portal.post(f"/account/sessions/{theirs}/end",
                    data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    assert phone_browser.get("/me", follow_redirects=False).status_code == 303
    assert portal.get("/me", follow_redirects=False).status_code == 200
    assert newest is not None


def _sid_of(client, sids: list[str]) -> str:
    """The session id this client's page marks as its own."""
    page = client.get("/account/sessions").text
    for sid in sids:
        marker = page.split(f"/account/sessions/{sid}/end")[0].rsplit("<tr>", 1)[-1]
        if "(" in marker:
            return sid
    raise AssertionError("no session marked as this one")


def test_another_members_session_cannot_be_ended(portal, db, sms_file):
    f.accident_project(db)
    someone = f.member(db, login=True)
    db.commit()
    other = TestClient(portal.app)
    post_form(other, "/signin", {"login": someone.member_number, "password": f.PASSWORD})
    ask_code(portal)
    join(portal, last_code(sms_file))
    db.rollback()
    theirs = db.scalar(select(SignInSession.id).where(
        SignInSession.user_id == f.login_of(db, someone).id))
    page = portal.get("/account/sessions")
    r = portal.post(f"/account/sessions/{theirs}/end", data={"csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 404
    assert other.get("/me", follow_redirects=False).status_code == 200
