"""Buying cover as a member: only what they may buy is offered, a confirmation step with
the terms and the health declaration, payment through the provider, the electronic policy.

Every refusal names its field and stores nothing; a second confirm makes no second policy.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from mutua.auth.security import SYSTEM
from mutua.catalog import service as catalog_service
from mutua.dates import today as shanghai_today
from mutua.health import service as health_service
from mutua.policies.models import Policy, PremiumDue
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in
from tests.integration.web.test_member_policies import _member_signed_in

CKD_YAML = "src/mutua/catalog/products/ckd.yaml"
NO_RISKS = {"declare.rrt_planned": "no", "declare.in_hospital": "no"}


@pytest.fixture(autouse=True)
def _members_pay_online(online_payments):
    """Every journey here may end in an online payment."""


def kidney_project_on_sale(db):
    """The kidney product matrix with one period of each product on sale today."""
    raw = yaml.safe_load(Path(CKD_YAML).read_text(encoding="utf-8"))
    day = shanghai_today()
    for p in raw["products"]:
        p["periods"] = [{"code": "K1", "sale_start": (day - timedelta(days=30)).isoformat(),
                         "sale_end": (day + timedelta(days=30)).isoformat(),
                         "cover_start": (day - timedelta(days=30)).isoformat()}]
    catalog_service.load_definition(db, defn=catalog_service.check_definition(raw), actor=SYSTEM)


def g3b_labs(db, member):
    """Scr 1.6 mg/dL in a woman born 1960: eGFR about 35 (G3b); ACR 80 mg/g: A2."""
    when = (shanghai_today() - timedelta(days=5)).isoformat()
    health_service.record(db, actor=SYSTEM, items=[
        {"member_id": member.id, "loinc": "2160-0", "value": 1.6, "unit": "mg/dL",
         "effective_at": when},
        {"member_id": member.id, "loinc": "9318-7", "value": 80, "unit": "mg/g",
         "effective_at": when}])


def policies_of(db, member) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Policy).where(Policy.member_id == member.id))


def links(html: str) -> set[str]:
    return set(re.findall(r'href="/me/enrol/([^"/]+)/', html))


def test_a_member_without_labs_sees_kidney_products_only_as_needing_a_lab_result(client, db):
    f.accident_project(db)
    kidney_project_on_sale(db)
    _member_signed_in(client, db)
    page = client.get("/me/enrol")
    assert page.status_code == 200
    assert links(page.text) == {"TEST-ACC-1"}  # not 16 kidney products
    needs = page.text[page.text.index('id="needs-labs"'):]
    assert "KID-" not in links(needs) and "早期肾病守护" in needs
    assert "肌酐" in needs  # the reason: a creatinine result is needed


def test_kidney_products_are_offered_by_the_stage_of_the_members_own_labs(client, db):
    kidney_project_on_sale(db)
    m = _member_signed_in(client, db, birth=date(1960, 2, 1))
    g3b_labs(db, m)
    db.commit()
    page = client.get("/me/enrol")
    offered = links(page.text)
    assert {"KID-G3B-BASIC", "KID-G3B-PLUS"} <= offered
    # the stage products of other stages are not offered (after a transplant, any working
    # graft's stage is covered: the declaration asks whether there was one)
    assert all(c.startswith(("KID-G3B", "KID-TX")) for c in offered)
    not_for_you = page.text[page.text.index('id="not-for-you"'):]
    assert "G3b" in not_for_you  # why the others are not offered


def test_the_service_refuses_an_ineligible_product_whatever_the_page_showed(client, db):
    kidney_project_on_sale(db)
    m = _member_signed_in(client, db, birth=date(1960, 2, 1))
    g3b_labs(db, m)
    db.commit()
    refused = post_form(client, "/me/enrol/KID-G3A-BASIC/K1",
                        {"accept_terms": "yes", **NO_RISKS}, from_page="/me/enrol")
    assert refused.status_code == 422
    assert "G3b" in refused.text
    assert policies_of(db, m) == 0


def test_the_confirm_page_shows_the_terms_for_this_member(client, db):
    f.accident_project(db, waiting_days=7)
    _member_signed_in(client, db)
    page = client.get("/me/enrol/TEST-ACC-1/P1")
    assert page.status_code == 200
    text = page.text
    assert "¥36.50" in text and "¥100,000.00" in text  # price, sum insured (coefficient 1)
    assert "自保障开始起7天" in text  # waiting period
    assert "酒后驾驶" in text or "Driving under the influence" in text  # exclusions
    assert "15" in text  # the cooling-off days
    assert 'name="accept_terms"' in text


def test_confirm_then_pay_starts_cover_and_issues_the_policy_document(client, db):
    f.accident_project(db)
    m = _member_signed_in(client, db)
    confirmed = post_form(client, "/me/enrol/TEST-ACC-1/P1", {"accept_terms": "yes"})
    assert confirmed.status_code == 303
    pay_path = confirmed.headers["location"]
    assert re.fullmatch(r"/me/policies/\d+/pay", pay_path)
    policy = db.scalar(select(Policy).where(Policy.member_id == m.id))
    assert policy.status == "unpaid"  # no premium taken in one tap
    assert client.get(f"/me/policies/{policy.id}/document.pdf").status_code == 409
    paid = post_form(client, pay_path, {})
    assert paid.status_code == 303 and paid.headers["location"].endswith("?done=enrolled")
    db.expire_all()
    assert db.get(Policy, policy.id).status == "in_force"
    page = client.get(paid.headers["location"])
    assert f"/me/policies/{policy.id}/document.pdf" in page.text
    pdf = client.get(f"/me/policies/{policy.id}/document.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"


def test_auto_renewal_is_agreed_at_confirmation_or_not_at_all(client, db):
    f.accident_project(db)
    m = _member_signed_in(client, db)
    assert 'name="auto_renew"' in client.get("/me/enrol/TEST-ACC-1/P1").text
    post_form(client, "/me/enrol/TEST-ACC-1/P1", {"accept_terms": "yes", "auto_renew": "yes"})
    agreed = db.scalar(select(Policy).where(Policy.member_id == m.id))
    assert agreed.auto_renew is True
    other = _member_signed_in(client, db)
    post_form(client, "/me/enrol/TEST-ACC-1/P1", {"accept_terms": "yes"})
    assert db.scalar(select(Policy).where(Policy.member_id == other.id)).auto_renew is False


def test_another_members_policy_document_is_not_found(client, db):
    f.accident_project(db)
    other = f.member(db)
    theirs = f.policy(db, member=other)
    db.commit()
    _member_signed_in(client, db)
    assert client.get(f"/me/policies/{theirs.id}/document.pdf").status_code == 404
    assert client.get(f"/me/policies/{theirs.id}/pay").status_code == 404


def test_confirming_twice_makes_one_policy(client, db):
    f.accident_project(db)
    m = _member_signed_in(client, db)
    first = post_form(client, "/me/enrol/TEST-ACC-1/P1", {"accept_terms": "yes"})
    again = post_form(client, "/me/enrol/TEST-ACC-1/P1", {"accept_terms": "yes"})
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert policies_of(db, m) == 1
    assert db.scalar(select(func.count()).select_from(PremiumDue)
                     .where(PremiumDue.member_id == m.id)) == 1


def test_confirming_without_accepting_the_terms_stores_nothing(client, db):
    f.accident_project(db)
    m = _member_signed_in(client, db)
    refused = post_form(client, "/me/enrol/TEST-ACC-1/P1", {})
    assert refused.status_code == 422 and 'id="accept-terms-problem"' in refused.text
    assert policies_of(db, m) == 0


def test_an_ineligible_member_is_refused_at_confirm_with_the_reason(client, db):
    f.accident_project(db, classes=(1, 2, 3))
    m = _member_signed_in(client, db, birth=date(1950, 1, 1))
    page = client.get("/me/enrol/TEST-ACC-1/P1")
    assert "覆盖年龄" in page.text and 'id="confirm-form"' not in page.text
    refused = post_form(client, "/me/enrol/TEST-ACC-1/P1", {"accept_terms": "yes"},
                        from_page="/me/enrol")
    assert refused.status_code == 422 and "覆盖年龄" in refused.text
    assert policies_of(db, m) == 0


def test_the_health_declaration_is_required_refuses_a_declined_risk_and_is_kept(client, db):
    kidney_project_on_sale(db)
    m = _member_signed_in(client, db, birth=date(1960, 2, 1))
    g3b_labs(db, m)
    db.commit()
    path = "/me/enrol/KID-G3B-BASIC/K1"
    assert "您目前是否正在住院" in client.get(path).text
    missing = post_form(client, path, {"accept_terms": "yes"})
    assert missing.status_code == 422 and 'id="q-in_hospital-problem"' in missing.text
    declined = post_form(client, path, {"accept_terms": "yes", **NO_RISKS,
                                        "declare.in_hospital": "yes"})
    assert declined.status_code == 422 and 'id="q-in_hospital-problem"' in declined.text
    bad = post_form(client, path, {"accept_terms": "yes", **NO_RISKS,
                                   "declare.in_hospital": "maybe"})
    assert bad.status_code == 422
    unknown = post_form(client, path, {"accept_terms": "yes", **NO_RISKS, "declare.x": "no"})
    assert unknown.status_code == 422
    assert policies_of(db, m) == 0
    ok = post_form(client, path, {"accept_terms": "yes", **NO_RISKS})
    assert ok.status_code == 303
    policy = db.scalar(select(Policy).where(Policy.member_id == m.id))
    assert {q["code"]: q["answer"] for q in policy.declaration} == {
        "rrt_planned": "no", "in_hospital": "no"}
    assert policy.status == "unpaid"


def test_staff_download_a_members_policy_document(client, db):
    from mutua.auth.roles import Role

    f.accident_project(db)
    m = f.member(db)
    p = f.policy(db, member=m)
    f.staff(db, Role.ADMIN, username="boss")
    db.commit()
    sign_in(client, "boss", f.PASSWORD)
    page = client.get(f"/staff/members/{m.id}")
    assert f"/staff/members/{m.id}/policies/{p.id}/document.pdf" in page.text
    pdf = client.get(f"/staff/members/{m.id}/policies/{p.id}/document.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(f"/staff/members/{m.id + 1}/policies/{p.id}/document.pdf"
                      ).status_code == 404


# --- families ------------------------------------------------------------------------------

def add_child(client, *, name="小明", birth=date(2016, 4, 1), seq=31, relation="child"):
    from mutua.members.idcard import make_id_number

    return post_form(client, "/me/family", {
        "name": name, "id_number": make_id_number("440305", birth, seq),
        "relation": relation, "occupation_code": "A0103"})


def test_a_member_adds_a_child_buys_cover_for_them_and_pays(client, db):
    from mutua.members.models import Member

    f.accident_project(db, min_age=0)
    payer = _member_signed_in(client, db, birth=date(1985, 1, 1))
    added = add_child(client)
    assert added.status_code == 303
    child = db.scalar(select(Member).where(Member.payer_id == payer.id))
    assert child.relation == "child" and child.birth_date == date(2016, 4, 1)
    page = client.get(f"/me/enrol?insured={child.id}")
    assert "小明" in page.text and f"/me/enrol/TEST-ACC-1/P1?insured={child.id}" in page.text
    confirmed = post_form(client, "/me/enrol/TEST-ACC-1/P1",
                          {"accept_terms": "yes", "insured_id": str(child.id)},
                          from_page=f"/me/enrol/TEST-ACC-1/P1?insured={child.id}")
    assert confirmed.status_code == 303, confirmed.text[:300]
    policy = db.scalar(select(Policy).where(Policy.member_id == child.id))
    assert policy.age_at_start < 18  # rated on the child's own age
    due = db.scalar(select(PremiumDue).where(PremiumDue.policy_id == policy.id))
    assert due.member_id == payer.id  # the payer owes it
    paid = post_form(client, confirmed.headers["location"], {})
    assert paid.status_code == 303
    assert client.get(paid.headers["location"]).status_code == 200  # the payer sees it
    family = client.get("/me/family")
    assert policy.policy_number in family.text
    pdf = client.get(f"/me/policies/{policy.id}/document.pdf")
    assert pdf.status_code == 200


def test_bad_dependants_are_refused_with_the_field_and_nothing_stored(client, db):
    from mutua.members.models import Member

    payer = _member_signed_in(client, db, birth=date(1985, 1, 1))
    bad_id = post_form(client, "/me/family", {"name": "小红", "id_number": "440305201604010000",
                                              "relation": "child", "occupation_code": "A0103"})
    assert bad_id.status_code == 422 and "身份证" in bad_id.text
    older_child = add_child(client, birth=date(1960, 1, 1))
    assert older_child.status_code == 422
    bad_relation = add_child(client, relation="cousin")
    assert bad_relation.status_code == 422
    blank = post_form(client, "/me/family", {})
    assert blank.status_code == 422 and "姓名" in blank.text
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Member)
                     .where(Member.payer_id == payer.id)) == 0


def test_another_members_dependant_cannot_be_chosen(client, db):
    from mutua.members import dependants

    f.accident_project(db, min_age=0)
    other = f.member(db, birth=date(1980, 1, 1))
    theirs = dependants.add(db, payer_id=other.id, name="别人家孩子",
                            id_number=__import__("mutua.members.idcard", fromlist=["x"])
                            .make_id_number("440305", date(2012, 1, 1), 55),
                            relation="child", occupation_code="A0103", actor=SYSTEM)
    db.commit()
    _member_signed_in(client, db)
    assert client.get(f"/me/enrol?insured={theirs.id}").status_code == 404
    refused = post_form(client, "/me/enrol/TEST-ACC-1/P1",
                        {"accept_terms": "yes", "insured_id": str(theirs.id)},
                        from_page="/me/enrol")
    assert refused.status_code == 404
    assert policies_of(db, theirs) == 0


def test_the_payer_reports_and_follows_a_claim_on_a_dependants_policy(client, db):
    from mutua.members import dependants
    from mutua.members.idcard import make_id_number
    from tests.integration.web.conftest import csrf_of

    f.accident_project(db, min_age=0)
    payer = f.member(db, login=True, birth=date(1985, 1, 1))
    stranger = f.member(db, login=True)
    child = dependants.add(db, payer_id=payer.id, name="小刚",
                           id_number=make_id_number("440305", date(2014, 2, 2), 61),
                           relation="child", occupation_code="A0103", actor=SYSTEM)
    p = f.policy(db, member=child, on=shanghai_today() - timedelta(days=20))
    db.commit()
    sign_in(client, payer.member_number, f.PASSWORD)
    form = client.get("/me/claims/new")
    assert f'value="{p.id}|medical"' in form.text
    reported = client.post("/me/claims/new", data={
        "csrf_token": csrf_of(form.text), "cover": f"{p.id}|medical", "event_type": "accident",
        "event_date": (shanghai_today() - timedelta(days=2)).isoformat(), "place": "深圳",
        "description": "上学路上摔倒", "invoice_amount": "300"}, follow_redirects=False)
    assert reported.status_code == 303, reported.text[-800:]
    claim_path = reported.headers["location"]
    assert client.get(claim_path).status_code == 200
    assert "/me/claims/" in client.get("/me/claims").text
    client.post("/signout", follow_redirects=False)
    client.cookies.clear()
    sign_in(client, stranger.member_number, f.PASSWORD)
    assert client.get(claim_path).status_code in (403, 404)
