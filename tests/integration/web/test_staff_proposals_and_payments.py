"""Staff pages for proposals that carry a payload (allocation, election, pricing from
experience) and for claim payment batches: success, bad input, and roles refused."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.catalog import service as catalog_service
from mutua.catalog.schemas import PeriodDef
from mutua.claims import service as claims_service
from mutua.claims.models import Claim, PaymentBatch
from mutua.claims.schemas import ClaimIn, DecisionIn, ItemIn
from mutua.dates import Quarter
from mutua.dates import today as shanghai_today
from mutua.governance.models import Proposal
from mutua.web import i18n, problems
from tests import factories as f
from tests.integration.web.conftest import csrf_of, pay_after_preview, post_form, sign_in
from tests.jobs import finish_jobs


@pytest.fixture
def as_role(client, staff_user):
    def signed_in(role: Role):
        sign_in(client, staff_user(role))
        return client

    return signed_in


def _named(field: str) -> str:
    """How the Chinese page names a refused field: its label on the form, then "："."""
    i18n.set_locale("zh_CN")
    return f"{problems.field_label(field)}："


def _proposals(db, kind: str) -> list[Proposal]:
    db.expire_all()
    return list(db.scalars(select(Proposal).where(Proposal.kind == kind)))


def _allocation(**over) -> dict:
    form = {"title_zh": "盈余分配调整", "title_en": "Surplus allocation", "project": "TEST-ACC",
            "uplift": "60", "aid": "30", "services": "10",
            "effective_from": str(Quarter.of(shanghai_today())), "quorum": "0.1", "days": "7"}
    form.update(over)
    return form


def test_the_secretary_proposes_an_allocation_change(db, as_role):
    f.accident_project(db)
    db.commit()
    secretary = as_role(Role.SECRETARY)
    done = post_form(secretary, "/staff/governance/proposals/allocation", _allocation(),
                     from_page="/staff/governance")
    assert done.status_code == 303
    [p] = _proposals(db, "allocation")
    assert p.status == "draft" and p.payload["uplift"] == "0.6" and p.payload["aid"] == "0.3"
    assert "盈余分配调整" in secretary.get("/staff/governance").text


@pytest.mark.parametrize("over,field", [
    ({"services": "20"}, "payload.shares"),       # 60 + 30 + 20 is not 100
    ({"aid": "lots"}, "aid"),
    ({"effective_from": "2020Q1"}, "payload.effective_from"),
    ({"project": ""}, "project"),
    ({"title_zh": ""}, "title_zh"),
])
def test_a_bad_allocation_is_shown_back_and_not_stored(db, as_role, over, field):
    f.accident_project(db)
    db.commit()
    secretary = as_role(Role.SECRETARY)
    refused = post_form(secretary, "/staff/governance/proposals/allocation", _allocation(**over),
                        from_page="/staff/governance")
    assert refused.status_code == 422
    assert _named(field) in refused.text and "提案未保存" in refused.text
    assert _proposals(db, "allocation") == []


def _insured(db, n: int):
    f.accident_project(db)
    people = []
    for _ in range(n):
        m = f.member(db)
        f.policy(db, member=m, on=shanghai_today() - timedelta(days=10))
        people.append(m)
    db.commit()
    return people


def test_the_secretary_calls_an_election_of_two_of_three(db, as_role):
    people = _insured(db, 3)
    secretary = as_role(Role.SECRETARY)
    done = post_form(secretary, "/staff/governance/proposals/election", {
        "title_zh": "会员代表选举", "title_en": "Representatives", "project": "TEST-ACC",
        "seats": "2", "candidates": "\n".join(m.member_number for m in people)},
        from_page="/staff/governance")
    assert done.status_code == 303
    [p] = _proposals(db, "election")
    assert p.seats == 2 and p.payload["candidates"] == [m.id for m in people]


@pytest.mark.parametrize("seats,candidates,field", [
    ("4", None, "payload.seats"),               # more seats than candidates
    ("1", "M-NOSUCH", "candidates"),
    ("1", "", "candidates"),
    ("two", None, "payload.seats"),
])
def test_a_bad_election_is_shown_back_and_not_stored(db, as_role, seats, candidates, field):
    people = _insured(db, 3)
    secretary = as_role(Role.SECRETARY)
    listed = ",".join(m.member_number for m in people) if candidates is None else candidates
    refused = post_form(secretary, "/staff/governance/proposals/election", {
        "title_zh": "会员代表选举", "title_en": "Representatives", "seats": seats,
        "candidates": listed}, from_page="/staff/governance")
    assert refused.status_code == 422 and _named(field) in refused.text
    assert _proposals(db, "election") == []


@pytest.mark.parametrize("path", ["/staff/governance/proposals/allocation",
                                  "/staff/governance/proposals/election"])
def test_only_the_secretary_creates_proposals(db, as_role, path):
    people = _insured(db, 2)
    claims = as_role(Role.CLAIMS)
    page = claims.get("/staff/claims")
    refused = claims.post(path, data={**_allocation(), "seats": "1",
                                      "candidates": people[0].member_number,
                                      "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 403
    assert _proposals(db, "allocation") == [] and _proposals(db, "election") == []


def _product_with_a_later_period(db):
    start = shanghai_today() - timedelta(days=200)
    product = f.accident_project(db, today=start, sale_end=shanghai_today() + timedelta(days=30))
    catalog_service.create_period(
        db, product_code=product.code, actor=SYSTEM,
        period=PeriodDef(code="P2", sale_start=shanghai_today() + timedelta(days=60),
                         sale_end=shanghai_today() + timedelta(days=150),
                         cover_start=shanghai_today() + timedelta(days=60)))
    # members in two risk cells, so the experience has something to weigh
    n = 0
    for occupation, birth, amount in (("A0101", date(1990, 1, 1), 100),
                                      ("E0501", date(1970, 1, 1), 700)):
        for _ in range(2):
            pol = f.policy(db, member=f.member(db, occupation=occupation, birth=birth), on=start)
            for days_ago in (150, 40):  # claims in two quarters
                n += 1
                day = shanghai_today() - timedelta(days=days_ago)
                db.add(Claim(claim_number=f"W{n:06d}", project_id=pol.project_id,
                             policy_id=pol.id, member_id=pol.member_id, event_type="accident",
                             event_date=day, reported_on=day, status="closed",
                             approved=Decimal(amount), paid=Decimal(amount), closed_on=day))
    db.commit()
    return product


def test_the_actuary_generates_a_pricing_proposal_from_experience(db, as_role):
    product = _product_with_a_later_period(db)
    actuary = as_role(Role.ACTUARY)
    assert "/staff/governance/pricing" in actuary.get("/staff/catalog").text
    done = post_form(actuary, "/staff/governance/pricing", {
        "product": product.code, "experience_from": str(shanghai_today() - timedelta(days=200)),
        "experience_to": str(shanghai_today())})
    assert done.status_code == 303, re.findall(r'role="alert">(.*?)</div>', done.text, re.S)
    [p] = _proposals(db, "pricing")
    assert p.status == "draft" and p.payload["period_id"]
    shown = actuary.get(done.headers["location"])
    assert f"草案提案 {p.id} 已保存" in shown.text


@pytest.mark.parametrize("over,field", [
    ({"experience_to": "2020-01-01"}, "experience_to"),
    ({"experience_from": "not a date"}, "experience_from"),
    ({"quorum": "2"}, "quorum"),
])
def test_a_bad_pricing_request_is_shown_back_and_not_stored(db, as_role, over, field):
    product = _product_with_a_later_period(db)
    actuary = as_role(Role.ACTUARY)
    form = {"product": product.code, "experience_from": str(shanghai_today() - timedelta(days=200)),
            "experience_to": str(shanghai_today()), **over}
    refused = post_form(actuary, "/staff/governance/pricing", form)
    assert refused.status_code == 422, refused.text[-3000:]
    assert _named(field) in refused.text, re.findall(r'role="alert">(.*?)</div>', refused.text, re.S)
    assert _proposals(db, "pricing") == []


def test_a_product_with_no_later_period_gets_no_pricing_proposal(db, as_role):
    product = f.accident_project(db)
    db.commit()
    actuary = as_role(Role.ACTUARY)
    refused = post_form(actuary, "/staff/governance/pricing", {
        "product": product.code, "experience_from": "2026-01-01", "experience_to": "2026-03-31"})
    assert refused.status_code == 422 and _named("period_id") in refused.text
    assert _proposals(db, "pricing") == []


def test_the_secretary_may_not_generate_pricing(db, as_role):
    product = _product_with_a_later_period(db)
    secretary = as_role(Role.SECRETARY)
    page = secretary.get("/staff/governance")
    refused = secretary.post("/staff/governance/pricing", data={
        "csrf_token": csrf_of(page.text), "product": product.code,
        "experience_from": "2026-01-01", "experience_to": "2026-03-31"})
    assert refused.status_code == 403
    assert secretary.get("/staff/governance/pricing").status_code == 403
    assert _proposals(db, "pricing") == []


# --- payment batches --------------------------------------------------------------------


def _decided_claim(db):
    product = f.accident_project(db)
    f.overdraft(db, project_id=product.project_id)  # one member's premium pays no claim
    m = f.member(db)
    p = f.policy(db, member=m, on=shanghai_today() - timedelta(days=30))
    claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=p.id, event_type="accident", event_date=shanghai_today() - timedelta(days=2),
        items=[ItemIn(benefit_code="medical", invoice_amount="6000",
                      has_social_insurance=True)]))
    claims_service.review(db, claim_id=claim.id, actor=SYSTEM)
    claims_service.decide(db, claim_id=claim.id, actor=SYSTEM, data=DecisionIn(**f.ON_PAPER))
    db.commit()
    return claim


def _batches(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(PaymentBatch))


def test_a_handler_pays_a_project_once(db, as_role):
    claim = _decided_claim(db)
    handler = as_role(Role.CLAIMS)
    asked = pay_after_preview(handler, "TEST-ACC")
    assert asked.status_code == 303 and asked.headers["location"].startswith("/staff/jobs/")
    finish_jobs(db.get_bind())  # the batch is a job; its page says what was paid
    paid = handler.get(asked.headers["location"])
    assert re.search(r"TEST-ACC:\d{8}:1", paid.text) and "1 件" in paid.text
    assert _batches(db) == 1
    db.expire_all()
    assert claims_service.get(db, claim_id=claim.id, actor=SYSTEM).status == "paid"
    db.rollback()  # the read was audited: end it, or its write lock holds the next request
    again = handler.get("/staff/claims/payments/preview?project=TEST-ACC")
    assert "无需支付" in again.text and 'action="/staff/claims/payments"' not in again.text
    assert _batches(db) == 1


def test_a_payment_batch_for_no_project_is_refused(db, as_role):
    _decided_claim(db)
    handler = as_role(Role.CLAIMS)
    refused = post_form(handler, "/staff/claims/payments", {"project": "NO-SUCH"},
                        from_page="/staff/claims")
    assert refused.status_code == 422 and _named("project") in refused.text
    assert _batches(db) == 0


def test_a_batch_is_previewed_before_it_pays_and_no_project_is_chosen_for_the_handler(db, as_role):
    claim = _decided_claim(db)
    handler = as_role(Role.CLAIMS)
    queue = handler.get("/staff/claims")
    panel = queue.text[queue.text.index('id="pay-project"'):]
    panel = panel[:panel.index("</select>")]
    assert '<option value="">' in panel and " selected" not in panel
    preview = handler.get("/staff/claims/payments/preview?project=TEST-ACC")
    assert claim.claim_number in preview.text and 'id="batch-summary"' in preview.text
    assert _batches(db) == 0  # seeing the batch pays nothing
    unconfirmed = post_form(handler, "/staff/claims/payments", {"project": "TEST-ACC"},
                            from_page="/staff/claims")
    assert unconfirmed.status_code == 409 and _batches(db) == 0


def test_the_care_coordinator_may_not_pay(db, as_role):
    _decided_claim(db)
    care = as_role(Role.CARE)
    page = care.get("/staff/care")
    refused = care.post("/staff/claims/payments", data={"csrf_token": csrf_of(page.text),
                                                        "project": "TEST-ACC"})
    assert refused.status_code == 403
    assert _batches(db) == 0
