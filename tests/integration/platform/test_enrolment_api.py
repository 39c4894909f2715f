"""Buying cover through the JSON API (/api/v1/enrolment), as the portal does it: offers
with why not, a quote with the terms and the declaration, a confirm that makes one unpaid
policy whose due is then paid through the payment interface."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from mutua.policies.models import Policy
from tests import factories as f
from tests.integration.web.test_member_enrol_flow import g3b_labs, kidney_project_on_sale

NO_RISKS = {"rrt_planned": "no", "in_hospital": "no"}


def policies_of(db, member) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Policy).where(Policy.member_id == member.id))


def test_offers_say_what_the_member_may_buy_and_why_not(client, db):
    f.accident_project(db)
    kidney_project_on_sale(db)
    m = f.member(db, login=True)
    h = f.member_headers(client, db, m)
    offers = {o["product_code"]: o for o in client.get("/api/v1/enrolment/offers",
                                                       headers=h).json()}
    assert offers["TEST-ACC-1"]["eligible"] is True
    early = offers["KID-EARLY-BASIC"]
    assert early["eligible"] is False and early["needs_lab_result"] is True
    assert early["problems"][0]["field"] == "labs"
    assert [q["code"] for q in early["declaration"]] == ["rrt_planned", "in_hospital"]


def test_a_quote_gives_the_terms_for_this_member(client, db):
    f.accident_project(db, waiting_days=7)
    m = f.member(db, occupation="F0601", login=True)  # delivery rider, class 6: x 0.125
    h = f.member_headers(client, db, m)
    q = client.post("/api/v1/enrolment/quote", headers=h,
                    json={"product_code": "TEST-ACC-1", "period_code": "P1"}).json()
    death = next(b for b in q["benefits"] if b["code"] == "death")
    assert death["sum_insured"] == "12500.00" and death["waiting_days"] == 7
    assert q["premium"] == "36.50" and q["cooling_off_days"] == 15
    assert "drunk_driving" in q["exclusions"]
    missing = client.post("/api/v1/enrolment/quote", headers=h,
                          json={"product_code": "NOPE", "period_code": "P1"})
    assert missing.status_code == 404


def test_confirm_makes_one_unpaid_policy_paid_through_the_payment_interface(
        client, db, online_payments):
    f.accident_project(db)
    m = f.member(db, login=True)
    h = f.member_headers(client, db, m)
    body = {"product_code": "TEST-ACC-1", "period_code": "P1", "accept_terms": True}
    first = client.post("/api/v1/enrolment/confirm", headers=h, json=body)
    assert first.status_code == 201, first.text
    out = first.json()
    assert out["policy"]["status"] == "unpaid" and out["due"]["amount"] == "36.50"
    again = client.post("/api/v1/enrolment/confirm", headers=h, json=body)
    assert again.status_code == 200 and again.json()["policy"]["id"] == out["policy"]["id"]
    assert db.get(Policy, out["policy"]["id"]).auto_renew is False  # not asked: not agreed
    assert policies_of(db, m) == 1
    checkout = client.post("/api/v1/premiums/checkout", headers=h, json={
        "project": out["due"]["project"], "reference": out["due"]["reference"]})
    assert checkout.status_code == 200, checkout.text


def test_a_member_agrees_to_auto_renewal_when_confirming(client, db):
    f.accident_project(db)
    m = f.member(db, login=True)
    h = f.member_headers(client, db, m)
    body = {"product_code": "TEST-ACC-1", "period_code": "P1", "accept_terms": True,
            "auto_renew": True}
    made = client.post("/api/v1/enrolment/confirm", headers=h, json=body)
    assert made.status_code == 201, made.text
    assert db.get(Policy, made.json()["policy"]["id"]).auto_renew is True


def test_bad_confirms_name_the_field_and_store_nothing(client, db):
    kidney_project_on_sale(db)
    m = f.member(db, login=True, birth=date(1960, 2, 1))
    g3b_labs(db, m)
    h = f.member_headers(client, db, m)
    base = {"product_code": "KID-G3B-BASIC", "period_code": "K1", "accept_terms": True}
    cases = [
        ({**base, "accept_terms": False, "declaration": NO_RISKS}, "accept_terms"),
        (base, "declaration.rrt_planned"),
        ({**base, "declaration": {**NO_RISKS, "in_hospital": "yes"}}, "declaration.in_hospital"),
        ({**base, "declaration": {**NO_RISKS, "other": "no"}}, "declaration.other"),
        ({**base, "product_code": "KID-G4-BASIC", "declaration": NO_RISKS}, "labs"),
    ]
    for body, field in cases:
        r = client.post("/api/v1/enrolment/confirm", headers=h, json=body)
        assert r.status_code == 422, r.text
        assert field in [p["field"] for p in r.json()["problems"]], r.text
    bad_answer = client.post("/api/v1/enrolment/confirm", headers=h, json={
        **base, "declaration": {**NO_RISKS, "in_hospital": "maybe"}})
    assert bad_answer.status_code == 422
    assert policies_of(db, m) == 0
    ok = client.post("/api/v1/enrolment/confirm", headers=h,
                     json={**base, "declaration": NO_RISKS})
    assert ok.status_code == 201, ok.text


def test_staff_cannot_use_the_members_buying_routes(client, db):
    from mutua.auth.roles import Role

    f.accident_project(db)
    h = f.staff_headers(client, db, Role.UNDERWRITER)
    assert client.get("/api/v1/enrolment/offers", headers=h).status_code == 403
    admin = f.staff_headers(client, db, Role.ADMIN)  # no member record of their own
    assert client.get("/api/v1/enrolment/dependants", headers=admin).status_code == 404


def test_a_member_buys_cover_for_a_dependant_and_sees_it(client, db):
    from mutua.members.idcard import make_id_number

    f.accident_project(db, max_age=80)
    payer = f.member(db, login=True, birth=date(1980, 1, 1))
    stranger = f.member(db, login=True)
    h = f.member_headers(client, db, payer)
    mother = client.post("/api/v1/enrolment/dependants", headers=h, json={
        "name": "母亲", "id_number": make_id_number("440305", date(1960, 3, 3), 88),
        "relation": "parent", "occupation_code": "A0103"})
    assert mother.status_code == 201, mother.text
    mid = mother.json()["id"]
    bad = client.post("/api/v1/enrolment/dependants", headers=h, json={
        "name": "X", "id_number": "123", "relation": "parent", "occupation_code": "A0103"})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "id_number"
    offers = client.get(f"/api/v1/enrolment/offers?insured_id={mid}", headers=h).json()
    assert offers[0]["age"] >= 60  # quoted on the dependant's own age
    body = {"product_code": "TEST-ACC-1", "period_code": "P1", "accept_terms": True,
            "insured_id": mid}
    # someone else's dependant: refused, nothing stored
    other = client.post("/api/v1/enrolment/confirm",
                        headers=f.member_headers(client, db, stranger), json=body)
    assert other.status_code == 422 and other.json()["problems"][0]["field"] == "insured_id"
    ok = client.post("/api/v1/enrolment/confirm", headers=h, json=body)
    assert ok.status_code == 201, ok.text
    policy_id = ok.json()["policy"]["id"]
    assert ok.json()["policy"]["member_id"] == mid
    assert client.get(f"/api/v1/policies/{policy_id}", headers=h).status_code == 200
    assert client.get(f"/api/v1/policies/{policy_id}",
                      headers=f.member_headers(client, db, stranger)).status_code == 404
