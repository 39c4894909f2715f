"""One person, one member: identity numbers in one canonical form on every path (issue 15 item 4).

The attack registered one person three times: an ID number in ASCII digits, in full-width
digits (１１０１…) and in Arabic-Indic digits (١١٠١…) each passed the GB 11643 check and
were stored as typed, so the unique key saw three numbers. Now every path (the API, the
registration form, CSV and Excel imports, FHIR, sign-in, attendance) folds full-width
characters to ASCII, refuses digits of other scripts, and stores one form.
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select

from mutua.auth.roles import Role
from mutua.health.models import Observation
from mutua.members.idcard import make_id_number
from mutua.members.models import Member
from tests import factories as f
from tests.integration.health.test_health_flow import FHIR_BUNDLE
from tests.integration.members.test_import import TODAY, crowd_rows, to_csv, to_xlsx
from tests.integration.web.conftest import post_form, sign_in
from tests.jobs import result as job_result

FULL_WIDTH = str.maketrans("0123456789XMm", "０１２３４５６７８９Ｘ\uff2d\uff4d")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
NUMBER = make_id_number("440305", date(1990, 5, 17), 123)


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def person(id_number: str, phone: str = "13800138000") -> dict:
    return {"name": "李雷", "id_number": id_number, "phone": phone, "occupation_code": "E0501",
            "city": "深圳"}


def test_one_person_in_three_scripts_is_registered_once(client, db):
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    assert client.post("/api/v1/members", headers=uw, json=person(NUMBER)).status_code == 201
    again = client.post("/api/v1/members", headers=uw, json=person(NUMBER.translate(FULL_WIDTH)))
    assert again.status_code == 409, again.text
    other_script = client.post("/api/v1/members", headers=uw,
                               json=person(NUMBER.translate(ARABIC_INDIC)))
    assert other_script.status_code == 422, other_script.text
    assert other_script.json()["problems"][0]["field"] == "id_number"
    assert db.scalars(select(Member.id_number)).all() == [NUMBER]


def test_a_full_width_phone_is_stored_in_ascii_and_another_scripts_is_refused(client, db):
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    r = client.post("/api/v1/members", headers=uw,
                    json=person(NUMBER, phone="１３８００１３８０００"))
    assert r.status_code == 201, r.text
    assert r.json()["phone"] == "+8613800138000"
    r = client.post("/api/v1/members", headers=uw,
                    json=person(make_id_number("440305", date(1991, 1, 1), 5),
                                phone="١٣٨٠٠١٣٨٠٠٠"))
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "phone"


def test_the_registration_form_reads_a_full_width_number_as_the_registered_one(client, db):
    f.member(db)  # someone else first
    underwriter = f.staff(db, Role.UNDERWRITER)
    db.commit()
    sign_in(client, underwriter.username, f.PASSWORD)
    first = post_form(client, "/staff/members/new", person(NUMBER))
    assert first.status_code == 303, first.text[:300]
    again = post_form(client, "/staff/members/new", person(NUMBER.translate(FULL_WIDTH)),
                      from_page="/staff/members/new")
    assert again.status_code == 422
    assert f'href="/staff/members/{first.headers["location"].split("/")[-1].split("?")[0]}"' \
        in again.text  # the page links the member already registered
    assert count(db, Member) == 2


def test_an_import_reuses_the_member_whatever_script_the_file_uses(client, db):
    f.accident_project(db, code="GRP", classes=(1, 2, 3, 4, 5), today=TODAY)
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    rows = crowd_rows(3)
    post = lambda data, name: job_result(client, client.post(  # noqa: E731  an import is a job
        "/api/v1/members/import", headers=uw, files={"file": (name, data, "text/csv")},
        data={"product": "GRP-1", "period": "P1"}), uw)
    assert post(to_csv(rows[:1]), "a.csv")["registered"] == 1
    rows[0]["id_number"] = rows[0]["id_number"].translate(FULL_WIDTH)
    rows[1]["id_number"] = rows[1]["id_number"].translate(ARABIC_INDIC)
    body = post(to_xlsx(rows), "b.xlsx")
    assert (body["registered"], body["reused"]) == (1, 1), body
    bad = {b["row"]: b["problems"][0]["field"] for b in body["bad_rows"]}
    assert bad == {2: "policy",  # the same person, already enrolled by the first file
                   3: "id_number"}  # Arabic-Indic digits: refused
    assert count(db, Member) == 2
    assert all(n.isascii() for n in db.scalars(select(Member.id_number)))


def test_a_fhir_bundle_names_its_patient_in_full_width_characters(client, db):
    m = f.member(db, birth=date(1960, 1, 1), sex="M")
    headers = f.staff_headers(client, db, Role.CARE)
    text = json.dumps(FHIR_BUNDLE, ensure_ascii=False).replace(
        "{number}", m.member_number.translate(FULL_WIDTH))
    report = job_result(client, client.post("/api/v1/health/fhir", headers=headers,
                                            content=text.encode()), headers)  # ingest is a job
    assert report["accepted"] == 3, report
    assert count(db, Observation) == 3


def test_a_role_that_sees_masked_phones_cannot_search_by_phone(client, db):
    f.accident_project(db)
    m = f.member(db)
    db.commit()
    digits = m.phone[3:]
    finance = f.staff_headers(client, db, Role.FINANCE)
    for q in (digits, digits[:7], m.phone):
        r = client.get("/api/v1/members", headers=finance, params={"q": q})
        assert r.json()["total"] == 0, (q, r.json())  # would confirm the masked digits
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    r = client.get("/api/v1/members", headers=uw, params={"q": f"{digits[:3]} {digits[3:7]}"})
    assert [i["id"] for i in r.json()["items"]] == [m.id]
    by_number = client.get("/api/v1/members", headers=finance,
                           params={"q": m.member_number.lower()})
    assert [i["id"] for i in by_number.json()["items"]] == [m.id]
