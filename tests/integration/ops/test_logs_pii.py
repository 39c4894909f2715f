"""Logs never carry ID numbers, phone numbers, health values, bodies or query strings."""

import io
import logging
from datetime import date

import pytest
from sqlalchemy.exc import IntegrityError

from mutua.auth.roles import Role
from mutua.members.idcard import make_id_number
from mutua.ops import logs
from tests import factories as f

ID_NUMBER = make_id_number("440305", date(1988, 3, 9), 124)
PHONE = "13987654321"
CREATININE = "187.3"  # umol/L: a distinctive value to look for


@pytest.fixture
def captured():
    """Everything any logger says, at DEBUG, SQLAlchemy's statement log (with parameters) included."""
    logs.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sql = logging.getLogger("sqlalchemy.engine")
    sql.setLevel(logging.INFO)
    yield stream
    sql.setLevel(logging.WARNING)
    root.removeHandler(handler)
    root.setLevel(old_level)


def assert_clean(text: str) -> None:
    assert ID_NUMBER not in text
    assert PHONE not in text and PHONE[3:] not in text
    assert CREATININE not in text


def test_api_traffic_with_personal_and_health_data_leaves_clean_logs(client, db, captured):
    f.accident_project(db)
    staff = f.staff_headers(client, db, Role.UNDERWRITER)
    r = client.post("/api/v1/members", headers=staff, json={
        "name": "日志测试", "id_number": ID_NUMBER, "phone": PHONE, "occupation_code": "A0103",
        "city": "深圳", "password": f.PASSWORD})
    assert r.status_code == 201, r.text
    member_id = r.json()["id"]
    care = f.staff_headers(client, db, Role.CARE)
    r = client.post("/api/v1/health/observations", headers=care, json={"items": [
        {"member_id": member_id, "kind": "creatinine", "value": float(CREATININE), "unit": "umol/L",
         "effective_at": "2026-01-05"}]})
    assert r.status_code == 201, r.text
    client.get(f"/api/v1/members?q={ID_NUMBER}", headers=staff)
    text = captured.getvalue()
    assert "sqlalchemy.engine" in text  # the statement log really was on
    assert_clean(text)


def test_messages_arguments_and_tracebacks_are_masked(captured):
    log = logging.getLogger("mutua.test")
    log.warning("enrolment refused for %s, phone +86 %s", ID_NUMBER, PHONE)
    log.info("member %(id)s", {"id": ID_NUMBER})
    try:
        raise IntegrityError("INSERT INTO members ...", {"id_number": ID_NUMBER, "phone": PHONE},
                             Exception("duplicate key"))
    except IntegrityError:
        log.exception("could not store member with %s", ID_NUMBER[-6:])
    text = captured.getvalue()
    assert "[id-number]" in text and "[phone]" in text and "IntegrityError" in text
    assert_clean(text)


def test_access_log_keeps_the_path_and_drops_the_query(captured):
    from uvicorn.logging import AccessFormatter

    logs.install()
    record = logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/api/v1/members/validate-id?id_number={ID_NUMBER}", "1.1", 200),
        None)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(record)
    assert "/api/v1/members/validate-id" in line and "200" in line
    assert ID_NUMBER not in line and "?" not in line


@pytest.mark.parametrize("text, expected", [
    ("11010519491231002X", "[id-number]"),
    ("id 11010519491231002x.", "id [id-number]."),
    ("+86 139 1234 5678", "[phone]"),
    ("0086-139-1234-5678", "[phone]"),
    ("tel:13912345678;", "tel:[phone];"),
    ("policy P2026000123", "policy P2026000123"),   # policy numbers are not personal data
    ("amount 1234567.89", "amount 1234567.89"),
    ("1234567890123456789", "1234567890123456789"),  # 19 digits: not an ID number
])
def test_mask(text, expected):
    assert logs.mask(text) == expected
