"""Members, sign-in and the audit log through the HTTP API, on SQLite and PostgreSQL."""

from sqlalchemy import func, select

from mutua.audit.models import AuditEvent
from mutua.auth.roles import Role
from mutua.members.idcard import make_id_number
from mutua.members.models import Member
from tests import factories as f

GOOD = {"name": "李小红", "id_number": "11010519491231002X", "phone": "13800138000",
        "occupation_code": "E0501", "city": "深圳"}


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def test_no_token_is_401(client):
    r = client.get("/api/v1/members")
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"


def test_wrong_password_is_401(client, db):
    f.staff(db, Role.UNDERWRITER, "uw")
    db.commit()
    r = client.post("/api/v1/auth/token", data={"username": "uw", "password": "nope-nope"})
    assert r.status_code == 401


def test_register_member_and_read_back_masked(client, db):
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    r = client.post("/api/v1/members", json=GOOD, headers=uw)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["birth_date"] == "1949-12-31" and body["sex"] == "F"
    assert body["occupation_class"] == 5 and body["phone"] == "+8613800138000"
    assert body["member_number"].startswith("M")
    finance = f.staff_headers(client, db, Role.FINANCE)
    seen = client.get(f"/api/v1/members/{body['id']}", headers=finance).json()
    assert seen["id_number"] == "1101**********002X"
    assert count(db, AuditEvent) >= 1


def test_bad_member_fields_are_422_and_nothing_is_stored(client, db):
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    cases = {
        "id_number": dict(GOOD, id_number="110105194912310021"),  # wrong check character
        "phone": dict(GOOD, phone="12345"),
        "occupation_code": dict(GOOD, occupation_code="ZZ999"),
    }
    impossible_date = dict(GOOD, id_number=make_id_number("440305", __import__("datetime").date(
        2000, 1, 1), 12).replace("20000101", "20000231"))
    cases["id_number (date)"] = impossible_date
    for label, body in cases.items():
        r = client.post("/api/v1/members", json=body, headers=uw)
        assert r.status_code == 422, label
        fields = [p["field"] for p in r.json()["problems"]]
        assert label.split()[0] in fields, (label, r.json())
    assert count(db, Member) == 0


def test_duplicate_id_number_is_409(client, db):
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    assert client.post("/api/v1/members", json=GOOD, headers=uw).status_code == 201
    assert client.post("/api/v1/members", json=GOOD, headers=uw).status_code == 409
    assert count(db, Member) == 1


def test_members_cannot_register_or_search(client, db):
    m = f.member(db, login=True)
    h = f.member_headers(client, db, m)
    assert client.post("/api/v1/members", json=GOOD, headers=h).status_code == 403
    assert client.get("/api/v1/members", headers=h).status_code == 403


def test_member_sees_only_themself(client, db):
    a, b = f.member(db, login=True), f.member(db)
    h = f.member_headers(client, db, a)
    assert client.get("/api/v1/members/me", headers=h).json()["id"] == a.id
    assert client.get(f"/api/v1/members/{b.id}", headers=h).status_code == 404


def test_member_signs_in_with_phone_too(client, db):
    m = f.member(db, login=True)
    db.commit()
    r = client.post("/api/v1/auth/token", data={"username": m.phone, "password": f.PASSWORD})
    assert r.status_code == 200 and r.json()["role"] == "member"


def test_health_and_docs_work_offline(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    page = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_staff_asking_for_my_member_record_gets_404(client, db):
    admin = f.staff_headers(client, db, Role.ADMIN)
    r = client.get("/api/v1/members/me", headers=admin)
    assert r.status_code == 404 and "no member record" in r.json()["message"]
