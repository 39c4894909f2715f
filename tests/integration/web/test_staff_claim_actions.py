"""A claims handler on a claim's page: revise the case reserve, close, read CKD evidence."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mutua.audit import service as audit_service
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.catalog import service as catalog_service
from mutua.claims import payments
from mutua.claims import service as claims_service
from mutua.claims.models import CaseReserveMovement
from mutua.claims.schemas import ClaimIn, ItemIn
from mutua.dates import today as shanghai_today
from mutua.health import service as health_service
from mutua.policies.models import Policy
from tests import factories as f
from tests.integration.web.conftest import csrf_of, post_form, sign_in

TODAY = shanghai_today()


@pytest.fixture
def handler(client, staff_user):
    sign_in(client, staff_user(Role.CLAIMS))
    return client


def open_claim(db, *, project: bool = True, days_ago: int = 2):
    """A large medical claim: not decided on report, so it is open and carries a reserve."""
    if project:
        f.accident_project(db)
    m = f.member(db, login=True)
    p = f.policy(db, member=m, on=TODAY - timedelta(days=30))
    claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=p.id, event_type="accident", event_date=TODAY - timedelta(days=days_ago),
        items=[ItemIn(benefit_code="medical", invoice_amount="60000",
                      has_social_insurance=True)]))
    db.commit()
    return claim, m


def movements(db, claim_id: int) -> int:
    return db.scalar(select(func.count(CaseReserveMovement.id))
                     .where(CaseReserveMovement.claim_id == claim_id))


def test_a_handler_revises_the_reserve_with_a_reason_and_sees_its_history(db, handler):
    claim, _m = open_claim(db)
    before = movements(db, claim.id)
    page = handler.get(f"/staff/claims/{claim.id}")
    assert page.status_code == 200 and "修改准备金" in page.text
    done = handler.post(f"/staff/claims/{claim.id}/reserve", data={
        "csrf_token": csrf_of(page.text), "amount": "12,345.60",
        "reason": "hospital estimate of a longer stay"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("?done=reserve")
    db.expire_all()
    assert claims_service.load_claim(db, claim.id, SYSTEM).case_reserve == Decimal("12345.60")
    assert movements(db, claim.id) == before + 1
    history = claims_service.reserve_history(db, claim_id=claim.id, actor=SYSTEM)
    assert history[-1].kind == "revised" and history[-1].reserve_after == Decimal("12345.60")
    assert history[-1].reason == "hospital estimate of a longer stay"
    after = handler.get(done.headers["location"])
    assert "未决赔款准备金已修改" in after.text
    assert "hospital estimate of a longer stay" in after.text and "claims-user" in after.text


@pytest.mark.parametrize("amount,reason,words", [
    ("-5", "estimate", "不得为负数"),
    ("abc", "estimate", "金额"),
    ("100", "   ", "请说明准备金变动的原因"),
    ("", "", "请说明准备金变动的原因"),
])
def test_a_bad_reserve_is_refused_and_nothing_is_stored(db, handler, amount, reason, words):
    claim, _m = open_claim(db)
    before = movements(db, claim.id)
    page = handler.get(f"/staff/claims/{claim.id}")
    refused = handler.post(f"/staff/claims/{claim.id}/reserve", data={
        "csrf_token": csrf_of(page.text), "amount": amount, "reason": reason})
    assert refused.status_code == 422 and words in refused.text
    assert f'value="{amount}"' in refused.text  # the entered amount is kept
    db.expire_all()
    assert movements(db, claim.id) == before
    assert claims_service.load_claim(db, claim.id, SYSTEM).case_reserve == claim.case_reserve


def test_a_paid_claim_closes_and_an_open_one_cannot(db, handler):
    product = f.accident_project(db)
    f.overdraft(db, project_id=product.project_id)  # one member's premium pays no claim
    m = f.member(db)
    p = f.policy(db, member=m, product_code=product.code, on=TODAY - timedelta(days=30))
    small = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=p.id, event_type="accident", event_date=TODAY - timedelta(days=3),
        items=[ItemIn(benefit_code="medical", invoice_amount="300")]))
    payments.pay(db, project_code="TEST-ACC", actor=SYSTEM)
    db.commit()
    assert small.status == "paid"
    page = handler.get(f"/staff/claims/{small.id}")
    assert "结案" in page.text and "修改准备金" not in page.text  # no reserve on a paid claim
    closed = handler.post(f"/staff/claims/{small.id}/close",
                          data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert closed.status_code == 303
    db.expire_all()
    assert claims_service.load_claim(db, small.id, SYSTEM).status == "closed"
    assert "已结案" in handler.get(closed.headers["location"]).text

    big = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=p.id, event_type="accident", event_date=TODAY - timedelta(days=2),
        items=[ItemIn(benefit_code="medical", invoice_amount="60000")]))
    db.commit()
    refused = post_form(handler, f"/staff/claims/{big.id}/close", {},
                        from_page=f"/staff/claims/{big.id}")
    assert refused.status_code == 409 and "不能结案" in refused.text
    db.expire_all()
    assert claims_service.load_claim(db, big.id, SYSTEM).status == "reported"


@pytest.fixture
def kidney_claim(db):
    """A claim for the CKD progression benefit by a member whose eGFR fell from G2 to G3b."""
    defn = f.accident_definition(code="TEST-CKD", sale_start=TODAY - timedelta(days=60),
                                 sale_end=TODAY + timedelta(days=30))
    defn["products"][0]["benefits"].append(
        {"code": "ckd_prog", "kind": "ckd_progression", "name_zh": "肾病进展",
         "name_en": "CKD progression", "base_sum_insured": "20000", "pure_risk_rate": "0.001"})
    catalog_service.load_definition(db, defn=catalog_service.check_definition(defn),
                                    actor=SYSTEM)
    m = f.member(db, birth=date(1963, 1, 1))
    p = f.policy(db, member=m, product_code="TEST-CKD-1", on=TODAY - timedelta(days=50))
    health_service.record(db, actor=SYSTEM, items=[
        {"member_id": m.id, "loinc": "2160-0", "value": value, "unit": "mg/dL",
         "effective_at": f"{(TODAY - timedelta(days=back)).isoformat()}T09:00:00+08:00"}
        for back, value in ((400, 1.0), (250, 1.6), (100, 1.7))])
    claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=p.id, event_type="illness", event_date=TODAY - timedelta(days=3),
        items=[{"benefit_code": "ckd_prog"}]))
    db.commit()
    return claim, m


def test_a_kidney_claim_shows_the_progression_evidence_and_the_read_is_audited(
        db, handler, kidney_claim):
    claim, m = kidney_claim
    page = handler.get(f"/staff/claims/{claim.id}")
    assert page.status_code == 200
    assert "肾病进展：化验结果显示" in page.text and "已确认进展" in page.text
    assert "G2" in page.text and "G3b" in page.text
    reads = [e for e in audit_service.recent(db, entity="patient", entity_id=str(m.id))
             if e.action == "health.read.progression"]
    assert reads and reads[0].actor_username == "claims-user"
    assert reads[0].detail == {"claim_id": claim.id}  # no health data in the log


def test_an_accident_claim_shows_no_kidney_evidence(db, handler):
    claim, _m = open_claim(db)
    page = handler.get(f"/staff/claims/{claim.id}")
    assert "evidence-heading" not in page.text


def test_the_claim_page_in_english(db, handler):
    claim, _m = open_claim(db)
    post_form(handler, "/language", {"locale": "en", "next": f"/staff/claims/{claim.id}"},
              from_page=f"/staff/claims/{claim.id}")
    page = handler.get(f"/staff/claims/{claim.id}")
    for words in ("Revise the reserve", "Why it changes (written reason)", "Set when reported"):
        assert words in page.text, words


@pytest.mark.parametrize("role", [Role.CARE, Role.ACTUARY, Role.UNDERWRITER])
def test_other_roles_may_neither_see_nor_act(db, client, staff_user, role):
    claim, _m = open_claim(db)
    sign_in(client, staff_user(role))
    assert client.get(f"/staff/claims/{claim.id}").status_code == 403
    page = client.get("/staff")  # any page, for a form token
    for action in ("reserve", "close"):
        got = client.post(f"/staff/claims/{claim.id}/{action}",
                          data={"csrf_token": csrf_of(page.text), "amount": "1", "reason": "x"})
        assert got.status_code == 403
    db.expire_all()
    assert claims_service.load_claim(db, claim.id, SYSTEM).case_reserve == claim.case_reserve


def test_a_member_may_not_use_the_staff_claim_page(db, client):
    claim, m = open_claim(db)
    sign_in(client, m.member_number, f.PASSWORD)
    assert client.get(f"/staff/claims/{claim.id}").status_code == 403
    page = client.get("/me/claims")
    got = client.post(f"/staff/claims/{claim.id}/reserve",
                      data={"csrf_token": csrf_of(page.text), "amount": "0", "reason": "x"})
    assert got.status_code == 403


def test_signed_out_goes_to_sign_in(db, client):
    claim, _m = open_claim(db)
    got = client.get(f"/staff/claims/{claim.id}", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/signin")


def test_an_unknown_claim_is_not_found(handler):
    assert handler.get("/staff/claims/999999").status_code == 404


def test_a_handler_finds_claims_by_the_number_a_caller_reads_out(db, handler):
    """Claim, policy and member numbers as typed on a phone (lower case, full width), any
    status; a text that is none of them is refused with its rule, the queue still shown."""
    claim, member = open_claim(db)
    policy = db.get(Policy, claim.policy_id)
    other, _m = open_claim(db, project=False, days_ago=3)
    for text in (claim.claim_number.lower(), f"　{policy.policy_number}",
                 member.member_number.replace("M", "ｍ")):
        page = handler.get("/staff/claims", params={"q": text})
        assert page.status_code == 200, text
        assert claim.claim_number in page.text and other.claim_number not in page.text, text
    missing = handler.get("/staff/claims", params={"q": "CL999999999"})
    assert missing.status_code == 200 and claim.claim_number not in missing.text
    refused = handler.get("/staff/claims", params={"q": "张三"})
    assert refused.status_code == 422
    assert "须为赔案号、保单号或会员号" in refused.text
    assert 'value="张三"' in refused.text  # what was typed stays in the box

