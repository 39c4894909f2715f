"""Joining, signing in by phone code and resetting a password through the JSON API.

The same use cases as the pages (tests/integration/web/test_signup.py), so the same rules:
every refusal names its field and rule, and leaves no member, no login and no extra code.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from mutua.auth.models import PhoneCode
from mutua.dates import utcnow
from mutua.members.idcard import make_id_number
from mutua.messaging.sms import read_console
from tests import factories as f
from tests.integration.web.test_signup import NEW_PASSWORD, PHONE, counts, details, last_code


@pytest.fixture
def api(portal):
    """The pages' test app (its SMS file and limits: 3 codes a phone, 5 an address)."""
    return portal


def ask_code(api, **changes):
    return api.post("/api/v1/auth/signup/code", json=details(**changes))


def join(api, code: str, **changes):
    return api.post("/api/v1/auth/signup", json={**details(**changes), "sms_code": code,
                                                 "password": NEW_PASSWORD})


def problems(r) -> dict[str, str]:
    return {p["field"]: p["rule"] for p in r.json().get("problems", [])}


def codes_stored(db) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(PhoneCode))


def joined(api, sms_file) -> dict:
    assert ask_code(api).status_code == 202
    r = join(api, last_code(sms_file))
    assert r.status_code == 201, r.text
    return r.json()


def me(api, token: str):
    return api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_a_person_joins_and_gets_a_token(api, db, sms_file):
    r = ask_code(api)
    assert r.status_code == 202 and r.json() == {"expires_in": 300}
    body = joined_with(api, last_code(sms_file))
    assert body["member_number"] and body["role"] == "member"
    assert me(api, body["access_token"]).json()["username"] == body["member_number"]
    assert counts(db) == (1, 1)
    # and signs in with the password by phone
    r = api.post("/api/v1/auth/token", data={"username": PHONE, "password": NEW_PASSWORD})
    assert r.status_code == 200


def joined_with(api, code: str) -> dict:
    r = join(api, code)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_wrong_code_is_refused_and_creates_nothing(api, db, sms_file):
    ask_code(api)
    right = last_code(sms_file)
    r = join(api, f"{(int(right) + 1) % 1_000_000:06d}")
    assert r.status_code == 422 and problems(r) == {"sms_code": "is not the code we sent"}
    assert counts(db) == (0, 0)


def test_an_expired_code_is_refused_and_creates_nothing(api, db, sms_file):
    ask_code(api)
    db.execute(update(PhoneCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    r = join(api, last_code(sms_file))
    assert r.status_code == 422
    assert problems(r) == {"sms_code": "this code has expired; ask for a new code"}
    assert counts(db) == (0, 0)


def test_a_used_code_is_refused_the_second_time(api, db, sms_file):
    ask_code(api)
    code = last_code(sms_file)
    joined_with(api, code)
    r = join(api, code, id_number=make_id_number("440305", date(1992, 2, 3), 26))
    assert r.status_code == 422
    assert problems(r) == {"sms_code": "this code has already been used; ask for a new code"}
    assert counts(db) == (1, 1)


def test_a_flood_of_codes_to_one_phone_is_refused(api, db, sms_file):
    for _ in range(3):
        assert ask_code(api).status_code == 202
    r = ask_code(api)
    assert r.status_code == 429 and r.json()["error"] == "too_many_codes"
    assert "this phone" in r.json()["message"]
    assert len(read_console(sms_file, PHONE)) == 3 and codes_stored(db) == 3
    assert counts(db) == (0, 0)


def test_a_flood_from_one_address_is_refused(api, db, sms_file):
    for n in range(5):
        assert ask_code(api, phone=f"137 0000 20{n:02d}", id_number=make_id_number(
            "440305", date(1990, 1, 1), 2 + 2 * n)).status_code == 202
    r = ask_code(api, phone="137 0000 2099")
    assert r.status_code == 429 and "address" in r.json()["message"]
    assert codes_stored(db) == 5
    # the sign-in and reset codes count against the same address
    assert api.post("/api/v1/auth/code", json={"login": "13799999999"}).status_code == 429


def test_an_id_number_already_registered_is_refused_before_any_code(api, db, sms_file):
    f.accident_project(db)
    existing = f.member(db)
    db.commit()
    r = ask_code(api, id_number=existing.id_number)
    assert r.status_code == 409 and problems(r) == {"id_number": "is already registered"}
    assert read_console(sms_file) == [] and codes_stored(db) == 0
    assert counts(db) == (1, 0)


def test_bad_details_are_all_named_and_no_code_is_sent(api, db, sms_file):
    r = ask_code(api, id_number="440305199102030000", phone="12345", occupation_code="")
    assert r.status_code == 422
    assert {"id_number", "phone", "occupation_code"} <= set(problems(r))
    assert read_console(sms_file) == [] and codes_stored(db) == 0


def test_a_weak_password_is_refused_and_the_code_still_works(api, db, sms_file):
    ask_code(api)
    code = last_code(sms_file)
    r = api.post("/api/v1/auth/signup", json={**details(), "sms_code": code, "password": "short"})
    assert r.status_code == 422 and "password" in problems(r)
    assert counts(db) == (0, 0)
    joined_with(api, code)


def test_a_member_signs_in_with_a_code_once(api, db, sms_file):
    member_number = joined(api, sms_file)["member_number"]
    r = api.post("/api/v1/auth/code", json={"login": member_number})
    assert r.status_code == 202
    code = last_code(sms_file)
    r = api.post("/api/v1/auth/code/token", json={"login": member_number, "sms_code": code})
    assert r.status_code == 200 and me(api, r.json()["access_token"]).status_code == 200
    again = api.post("/api/v1/auth/code/token", json={"login": member_number, "sms_code": code})
    assert again.status_code == 422 and "already been used" in problems(again)["sms_code"]


def test_a_signup_code_does_not_sign_in(api, db, sms_file):
    member_number = joined(api, sms_file)["member_number"]
    ask_code(api, id_number=make_id_number("440305", date(1992, 2, 3), 26))
    r = api.post("/api/v1/auth/code/token",
                 json={"login": member_number, "sms_code": last_code(sms_file)})
    assert r.status_code == 422 and set(problems(r)) == {"sms_code"}


def test_a_password_is_reset_by_code_and_old_tokens_end(api, db, sms_file):
    old = joined(api, sms_file)["access_token"]
    assert api.post("/api/v1/auth/reset/code", json={"login": PHONE}).status_code == 202
    r = api.post("/api/v1/auth/reset", json={"login": PHONE, "sms_code": last_code(sms_file),
                                            "password": "a-new-password-1"})
    assert r.status_code == 200
    assert me(api, old).status_code == 401 and me(api, r.json()["access_token"]).status_code == 200
    r = api.post("/api/v1/auth/token", data={"username": PHONE, "password": "a-new-password-1"})
    assert r.status_code == 200


def test_an_unknown_login_gets_the_same_answer_and_no_sms(api, db, sms_file):
    for path in ("/api/v1/auth/reset/code", "/api/v1/auth/code"):
        r = api.post(path, json={"login": "13799999999"})
        assert r.status_code == 202 and r.json() == {"expires_in": 300}
    assert read_console(sms_file) == [] and codes_stored(db) == 0
    r = api.post("/api/v1/auth/code/token", json={"login": "13799999999", "sms_code": "123456"})
    assert r.status_code == 422 and set(problems(r)) == {"sms_code"}
