"""Staff console pages: dashboard, members, claims decision, close, care, governance,
catalogue; each role sees only its part."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.claims import service as claims_service
from mutua.claims.schemas import ClaimIn, ItemIn
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.governance import service as governance_service
from mutua.health import coordination as health_coordination
from mutua.health import service as health_service
from mutua.settlement import service as settlement_service
from tests import factories as f
from tests.integration.settlement.conftest import AFTER_Q1, CODE, build_pool
from tests.integration.web.conftest import csrf_of, post_form, sign_in
from tests.jobs import finish_jobs


@pytest.fixture
def as_role(client, staff_user):
    def signed_in(role: Role):
        sign_in(client, staff_user(role))
        return client

    return signed_in


def test_the_dashboard_shows_each_project_with_charts_after_a_close(db, as_role):
    build_pool(db)
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    db.commit()
    client = as_role(Role.FINANCE)
    page = client.get(f"/staff?project={CODE}")
    assert page.status_code == 200
    assert "测试意外项目" in page.text and "2025Q1" in page.text
    assert 'data-chart="chart-money-data"' in page.text


@pytest.mark.parametrize("role,path,allowed", [
    (Role.CLAIMS, "/staff", False), (Role.CLAIMS, "/staff/claims", True),
    (Role.CARE, "/staff/claims", False), (Role.CARE, "/staff/care", True),
    (Role.FINANCE, "/staff/close", True), (Role.FINANCE, "/staff/governance", False),
    (Role.SECRETARY, "/staff/governance", True), (Role.SECRETARY, "/staff/audit", False),
    (Role.UNDERWRITER, "/staff/catalog", True), (Role.UNDERWRITER, "/staff/care", False),
    (Role.ADMIN, "/staff/audit", True),
])
def test_each_role_sees_only_its_part(as_role, role, path, allowed):
    response = as_role(role).get(path)
    assert response.status_code == (200 if allowed else 403), (role, path)


def test_member_search_masks_identity_for_roles_that_do_not_need_it(db, as_role):
    f.accident_project(db)
    m = f.member(db, name="王小明")
    db.commit()
    page = as_role(Role.CARE).get("/staff/members?q=王小明")
    assert page.status_code == 200 and m.member_number in page.text
    assert m.phone not in page.text


def _reported_claim(db):
    f.accident_project(db)
    m = f.member(db)
    p = f.policy(db, member=m, on=shanghai_today() - timedelta(days=30))
    claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=p.id, event_type="accident", event_date=shanghai_today() - timedelta(days=2),
        items=[ItemIn(benefit_code="medical", invoice_amount="60000",
                      has_social_insurance=True)]))
    db.commit()
    return claim


def test_a_handler_sees_the_engines_reasons_and_decides(db, as_role):
    claim = _reported_claim(db)
    client = as_role(Role.CLAIMS)
    queue = client.get("/staff/claims")
    assert claim.claim_number in queue.text
    page = client.get(f"/staff/claims/{claim.id}")
    assert "COINSURANCE" in page.text and "按赔付比例给付" in page.text
    item_id = re.search(r'name="approved_(\d+)"', page.text).group(1)
    refused = client.post(f"/staff/claims/{claim.id}/decide", data={
        "csrf_token": csrf_of(page.text), f"approved_{item_id}": "1.00", "reason": ""})
    assert refused.status_code == 422 and "reason" in refused.text
    # the medical benefit needs an invoice, the medical record and the bank card
    assert "本案所需材料" in page.text and "发票" in page.text
    bare = client.post(f"/staff/claims/{claim.id}/decide", data={
        "csrf_token": csrf_of(page.text)})
    assert bare.status_code == 422 and "缺少所需材料" in bare.text
    decided = client.post(f"/staff/claims/{claim.id}/decide", data={
        "csrf_token": csrf_of(page.text), **f.ON_PAPER}, follow_redirects=False)
    assert decided.status_code == 303
    after = client.get(decided.headers["location"])
    assert "核定结果已记录" in after.text and "已核定" in after.text


def test_a_handlers_amount_reads_as_typed_with_the_yuan_sign_and_separators(db, as_role):
    claim = _reported_claim(db)
    client = as_role(Role.CLAIMS)
    page = client.get(f"/staff/claims/{claim.id}")
    item_id = re.search(r'name="approved_(\d+)"', page.text).group(1)
    refused = client.post(f"/staff/claims/{claim.id}/decide", data={
        "csrf_token": csrf_of(page.text), f"approved_{item_id}": "¥1,000.00", "reason": ""})
    # read as 1000.00 like the claim form reads it: what is missing is the reason
    assert refused.status_code == 422
    assert "改变规则引擎的核定结果须写明理由" in refused.text
    assert "须为以元为单位的金额" not in refused.text


def test_finance_previews_then_closes_and_an_actuary_only_previews(db, as_role, client):
    build_pool(db)
    db.commit()
    finance = as_role(Role.FINANCE)
    preview = post_form(finance, "/staff/close/preview", {"project": CODE, "quarter": "2025Q1"},
                        from_page=f"/staff/close?project={CODE}")
    assert preview.status_code == 200 and "试算预览" in preview.text
    assert "立即结算2025Q1" in preview.text
    closed = post_form(finance, "/staff/close/run", {"project": CODE, "quarter": "2025Q1"},
                       from_page=f"/staff/close?project={CODE}")
    assert closed.status_code == 303 and closed.headers["location"].startswith("/staff/jobs/")
    finish_jobs(db.get_bind())  # the close is a job; its page links the final statement
    job_page = finance.get(closed.headers["location"])
    statement = f"/staff/close?project={CODE}&amp;done=2025Q1"
    assert statement in job_page.text
    final = finance.get(statement.replace("&amp;", "&"))
    assert "2025Q1已结算" in final.text
    assert settlement_service.list_closes(db, project_code=CODE)[1] == 1


def test_an_actuary_may_not_run_a_close(db, as_role):
    build_pool(db)
    db.commit()
    actuary = as_role(Role.ACTUARY)
    page = actuary.get(f"/staff/close?project={CODE}")
    refused = actuary.post("/staff/close/run", data={"csrf_token": csrf_of(page.text),
                                                      "project": CODE, "quarter": "2025Q1"})
    assert refused.status_code == 403


def test_a_care_coordinator_resolves_an_alert(db, as_role):
    m = f.member(db, birth=date(1963, 1, 1))
    db.flush()
    health_service.record(db, actor=SYSTEM, items=[
        {"member_id": m.id, "loinc": "2160-0", "value": 1.0, "unit": "mg/dL",
         "effective_at": "2025-01-10T09:00:00+08:00"},
        {"member_id": m.id, "loinc": "14682-9", "value": 180, "unit": "umol/L",
         "effective_at": "2025-06-10T09:00:00+08:00"}])
    db.commit()
    care = as_role(Role.CARE)
    queue = care.get("/staff/care")
    assert queue.status_code == 200 and f"/staff/care/patients/{m.id}" in queue.text
    patient = care.get(f"/staff/care/patients/{m.id}")
    alert_id = re.search(r'action="/staff/care/alerts/(\d+)"', patient.text).group(1)
    resolved = care.post(f"/staff/care/alerts/{alert_id}", data={
        "csrf_token": csrf_of(patient.text), "action": "resolve", "note": "called, seen GP",
        "member_id": str(m.id)}, follow_redirects=False)
    assert resolved.status_code == 303
    assert health_coordination.alert_queue(db, actor=SYSTEM, status="resolved")[1] >= 1


def test_the_secretary_sees_live_turnout(db, as_role):
    product = f.accident_project(db)
    m = f.member(db)
    f.policy(db, member=m, on=shanghai_today() - timedelta(days=5))
    now = utcnow()
    p = governance_service.create_proposal(
        db, kind="motion", project_id=product.project_id, title_zh="议案一", title_en="Motion one",
        quorum="0.1", opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=3),
        actor=SYSTEM)
    governance_service.open_proposal(db, proposal_id=p.id, actor=SYSTEM)
    db.commit()
    secretary = as_role(Role.SECRETARY)
    page = secretary.get("/staff/governance")
    assert page.status_code == 200 and "1人中已有0人投票" in page.text
    partial = secretary.get("/staff/governance/turnout")
    assert "<html" not in partial.text and "议案一" in partial.text


def test_the_catalogue_shows_products_and_refuses_a_bad_definition(db, as_role):
    f.accident_project(db)
    db.commit()
    under = as_role(Role.UNDERWRITER)
    page = under.get("/staff/catalog/products/TEST-ACC-1")
    assert page.status_code == 200 and "意外身故" in page.text and "0.667" in page.text
    # the settings the close reads: who is raised, by how much at most, the pricing basis
    for label in ("提升保额所需的最少剩余保障天数", "单次结算的最高保额提升比例", "预期赔付率"):
        assert label in page.text, label
    assert "50.0%" in page.text and "90.0%" in page.text
    form = under.get("/staff/catalog")
    bad = under.post("/staff/catalog/definitions", data={"csrf_token": csrf_of(form.text)},
                     files={"definition": ("p.yaml", b"products: [1, 2", "text/yaml")})
    assert bad.status_code == 422


def test_the_dashboard_counts_alerts_of_patients_outside_every_project(db, as_role):
    # A result sent before the patient holds any kidney policy raises an alert of no
    # project: the dashboard still counts it, so its alerts add up to the care queue.
    m = f.member(db)
    db.flush()
    health_service.record(db, actor=SYSTEM, items=[
        {"member_id": m.id, "loinc": "2823-3", "value": 6.4, "unit": "mmol/L",
         "effective_at": "2025-06-01T09:00:00+08:00"}])
    db.commit()
    page = as_role(Role.ADMIN).get("/staff")
    assert re.search(r'id="alerts-outside">未持有肾病保障的患者的未处理预警：1 条', page.text)
