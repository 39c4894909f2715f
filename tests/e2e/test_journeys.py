"""Journeys in a real browser: a member on a phone, claims, finance and care staff at desks.

The tests run in file order and share one server and database: the member reports the
claim the handler then decides, and reads the statement of the quarter finance closes.
Every main page is checked with axe-core and photographed at phone and desktop width
under tests/e2e/screenshots/ (ignored by git).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS

# Under workers (--dist loadfile) this file runs on one worker, in order: the journeys share
# one server, database and SHARED.
pytestmark = pytest.mark.e2e
SHARED: dict = {}
INVOICE = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def sign_in(page, world, login: str, password: str) -> None:
    page.goto(f"{world.base_url}/signin")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_load_state("networkidle")


def check(page, name: str) -> None:
    """No accessibility violation (axe-core), and a full-page screenshot."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"
    SCREENSHOTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


def buy_first_offer(page, world, name: str) -> None:
    """Choose the first product offered (not the one kept for the declaration journey),
    confirm its terms declaring no risk, pay online: cover starts."""
    page.goto(f"{world.base_url}/me/enrol")
    check(page, name)
    page.locator("main a.button[href^='/me/enrol/']:not([href^='/me/enrol/E2D-'])").first.click()
    page.wait_for_url(re.compile(r"/me/enrol/[^/?]+/[^/?]+$"))
    check(page, f"{name}-confirm")
    for question in page.locator("#declaration fieldset.question").all():
        question.locator("input[value=no]").check()
    page.check("input[name=accept_terms]")
    page.click("#confirm-form button[type=submit]")
    page.wait_for_url(re.compile(r"/me/policies/\d+/pay$"))
    check(page, f"{name}-pay")
    page.click("#pay-form button[type=submit]")
    page.wait_for_url(re.compile(r"/me/policies/\d+\?done=enrolled"))


def test_a_member_on_a_phone_enrols_claims_votes_and_adds_a_result(world, browser_for):
    page = browser_for(PHONE)
    sign_in(page, world, world.member_login, world.member_password)
    assert page.url.endswith("/me")
    assert page.locator("h1").inner_text() == "我的保单"
    check(page, "member-home")

    # Join an open product; the page explains any that are refused.
    buy_first_offer(page, world, "member-enrol")
    assert "参保成功" in page.inner_text("main")
    check(page, "member-policy")
    page.goto(page.url.split("?")[0] + "/cancel")  # the refund quote; not confirmed here
    check(page, "member-policy-cancel")

    # Report a claim with an invoice on the policy in force.
    page.goto(f"{world.base_url}/me/claims/new")
    option = page.locator("#cover option", has_text="测试意外险").filter(has_text="意外医疗")
    page.select_option("#cover", value=option.first.get_attribute("value"))
    page.select_option("#event_type", "accident")
    page.fill("#event_date", (_today() - timedelta(days=2)).isoformat())
    page.fill("#place", "深圳市南山区科技园")
    page.fill("#description", "送餐途中电动车侧滑摔倒，右腕骨折")
    page.fill("#invoice_amount", "60000")
    page.select_option("#document_kind", "invoice")
    page.set_input_files("#document", files=[{"name": "invoice.pdf",
                                              "mimeType": "application/pdf",
                                              "buffer": INVOICE}])
    check(page, "member-claim-form")
    page.click("form[action='/me/claims/new'] button[type=submit]")
    page.wait_for_url(re.compile(r"/me/claims/\d+\?done=claim"))
    SHARED["claim_number"] = page.locator("h1").inner_text().split()[-1]
    assert "invoice.pdf" in page.inner_text("main")
    check(page, "member-claim")

    # Vote, keep the receipt, check it.
    page.goto(f"{world.base_url}/me/governance")
    page.click(f"text={world.proposal_title}")
    page.check("input[name=choice][value=yes]")
    check(page, "member-proposal")
    page.click("form[action$='/vote'] button[type=submit]")
    secret = page.locator("#secret").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    check(page, "member-receipt")
    page.click("main a.button")  # "check my receipt"
    page.fill("#secret", secret)
    page.check("input[name=choice][value=yes]")
    page.click("form[action$='/check'] button[type=submit]")
    assert "已计入" in page.locator("#check-outcome").inner_text()

    # Add a lab result and see the chart drawn by the local plotly.js.
    page.goto(f"{world.base_url}/me/health")
    page.select_option("#kind", "creatinine|umol/L")
    page.fill("#value", "180")
    page.click("form[action='/me/health/results'] button[type=submit]")
    page.wait_for_url(re.compile(r"/me/health\?done=result"))
    page.wait_for_selector("#egfr-chart .main-svg")
    assert page.locator("#results ~ .table-wrap tbody tr").count() == 2  # the old and the new
    check(page, "member-health")



def test_a_member_picks_confirms_declares_pays_and_downloads_the_policy(world, browser_for):
    page = browser_for(PHONE)
    sign_in(page, world, world.buyer_login, world.member_password)
    page.goto(f"{world.base_url}/me/enrol")
    page.click("main a.button[href='/me/enrol/E2D-1/P1']")
    page.wait_for_url(re.compile(r"/me/enrol/E2D-1/P1$"))
    assert "主要责任免除" in page.inner_text("main") and "犹豫期" in page.inner_text("main")
    check(page, "member-enrol-declare")
    # a declined risk: refused with the reason, nothing bought
    page.check("input[name='declare.hazardous_work'][value=yes]")
    page.check("input[name=accept_terms]")
    page.click("#confirm-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "不承保该风险" in page.inner_text("main")
    check(page, "member-enrol-declined")
    page.check("input[name='declare.hazardous_work'][value=no]")
    page.check("input[name=accept_terms]")
    page.click("#confirm-form button[type=submit]")
    page.wait_for_url(re.compile(r"/me/policies/\d+/pay$"))
    page.click("#pay-form button[type=submit]")
    page.wait_for_url(re.compile(r"/me/policies/\d+\?done=enrolled"))
    href = page.locator("#policy-document").get_attribute("href")
    document = page.request.get(f"{world.base_url}{href}")
    assert document.status == 200 and document.body().startswith(b"%PDF")


def test_a_claims_handler_decides_the_claim(world, browser_for):
    page = browser_for(DESKTOP)
    sign_in(page, world, "claims", world.demo_password)
    page.goto(f"{world.base_url}/staff/claims?project={world.project}")
    check(page, "staff-claims-queue")
    page.click(f"text={SHARED['claim_number']}")
    assert "COINSURANCE" in page.inner_text("main") or "DEDUCTIBLE" in page.inner_text("main")
    check(page, "staff-claim")
    assert "本案所需材料" in page.inner_text("#documents")  # the benefit's checklist
    if page.locator("#documents_reason").count():  # approving before every document is in
        page.fill("#documents_reason", "发票原件已在服务台核验")
    page.click("form[action$='/decide'] button[type=submit]")
    page.wait_for_url(re.compile(r"decided=1"))
    assert page.locator("#claim-status").inner_text() == "已核定"


def test_a_handler_on_a_phone_finds_a_claim_by_number_and_asks_for_documents(world,
                                                                              browser_for):
    page = browser_for(PHONE)
    sign_in(page, world, "claims", world.demo_password)
    page.goto(f"{world.base_url}/staff/claims")
    page.fill("#q", world.waiting_claim_number.lower())  # as read out over the phone
    page.click("form[role=search] button[type=submit]")
    page.click(f"text={world.waiting_claim_number}")
    assert "本案所需材料" in page.inner_text("#documents")
    form = page.locator("#request-documents")
    form.locator("input[value=disability_assessment]").check()
    page.fill("#request-note", "请上传司法鉴定机构出具的伤残鉴定书")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#claim-status").inner_text() == "等待会员补充材料"
    check(page, "staff-claim-documents-request")

    member = browser_for(PHONE)
    sign_in(member, world, world.waiting_login, world.member_password)
    member.goto(f"{world.base_url}/me/claims")
    member.click(f"text={world.waiting_claim_number}")
    asked = member.inner_text("#documents-requested")
    assert "伤残鉴定" in asked and "请上传司法鉴定机构出具的伤残鉴定书" in asked
    check(member, "member-claim-documents-requested")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_claims_handler_previews_the_payment_batch_before_paying(world, browser_for,
                                                                   viewport):
    page = browser_for(viewport)
    sign_in(page, world, "claims", world.demo_password)
    page.goto(f"{world.base_url}/staff/claims")
    assert page.input_value("#pay-project") == ""  # no project is chosen for the handler
    page.select_option("#pay-project", world.project)
    page.click("form[action='/staff/claims/payments/preview'] button[type=submit]")
    page.wait_for_url(re.compile(r"/payments/preview"))
    assert page.locator("h1").inner_text().startswith("赔款支付批次预览")
    check(page, "staff-payment-preview")
    confirm = page.locator("form[action='/staff/claims/payments'] button[type=submit]")
    if viewport is DESKTOP and confirm.count():  # the phone only looks; the desktop pays
        assert "确认支付" in confirm.inner_text()
        confirm.click()
        page.wait_for_url(re.compile(r"/staff/jobs/"))
    elif not confirm.count():  # the decided claim of the journey above is already paid
        assert "无需支付" in page.inner_text("main")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_refused_motion_comes_back_as_typed(world, browser_for, viewport):
    page = browser_for(viewport)
    sign_in(page, world, "secretary", world.demo_password)
    page.goto(f"{world.base_url}/staff/governance")
    page.click("summary:has-text(\"新动议\")")
    page.fill("#title_en", "Garden day")
    page.fill("#quorum", "abc")
    page.eval_on_selector("#title_zh", "e => e.removeAttribute('required')")
    page.click("form[action='/staff/governance/proposals'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.input_value("#title_en") == "Garden day"
    assert page.input_value("#quorum") == "abc"
    assert page.locator("#quorum[aria-invalid='true']").count() == 1
    assert page.locator("#title_zh[aria-invalid='true']").count() == 1
    check(page, "staff-refused-motion")


def test_finance_previews_and_runs_the_quarterly_close(world, browser_for):
    page = browser_for(DESKTOP)
    sign_in(page, world, "finance", world.demo_password)
    page.goto(f"{world.base_url}/staff/close?project={world.project}")
    assert page.input_value("#quarter") == world.quarter_to_close
    page.click("form[action='/staff/close/preview'] button[type=submit]")
    assert "试算预览" in page.locator("#preview-heading").inner_text()
    check(page, "staff-close-preview")
    page.click("form[action='/staff/close/run'] button[type=submit]")
    # The close is a job: its page refreshes itself until the server's worker has run it,
    # then links the final statement.
    statement = page.wait_for_selector("a[href*='&done=']", timeout=120_000)
    check(page, "staff-close-job")
    statement.click()
    page.wait_for_selector("#close-done")
    check(page, "staff-close-done")


def test_the_member_reads_the_statement_and_downloads_its_pdf(world, browser_for):
    page = browser_for(PHONE)
    sign_in(page, world, world.member_login, world.member_password)
    page.goto(f"{world.base_url}/me/statements/{world.project}/{world.quarter_to_close}")
    assert "季度账单" in page.locator("h1").inner_text()
    check(page, "member-statement")
    with page.expect_download() as download:
        page.click("#statement-pdf")
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF") and b"MutuaSansSC" in data


def test_a_care_coordinator_resolves_the_alert(world, browser_for):
    page = browser_for(DESKTOP)
    sign_in(page, world, "care", world.demo_password)
    page.goto(f"{world.base_url}/staff/care")
    check(page, "staff-care-queue")
    page.goto(f"{world.base_url}/staff/care/patients/{world.member_id}")
    page.wait_for_selector("#egfr-chart .main-svg")
    check(page, "staff-patient")
    form = page.locator("form[action^='/staff/care/alerts/']").first
    form.locator("textarea").fill("已电话联系，安排本周复查肾功能")
    form.locator("button[value=resolve]").click()
    page.wait_for_selector("#alert-done")


def test_both_languages_and_the_choice_is_remembered(world, browser_for):
    page = browser_for(PHONE)
    page.goto(f"{world.base_url}/signin")
    assert page.get_attribute("html", "lang") == "zh-CN"
    page.click("button[name=locale][value=en]")
    assert page.locator("h1").inner_text() == "Sign in"
    sign_in(page, world, world.member_login, world.member_password)
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("h1").inner_text() == "My policies"
    check(page, "member-home-english")
    page.click("button[name=locale][value=zh_CN]")
    assert page.locator("h1").inner_text() == "我的保单"


def test_another_members_record_is_not_found_and_a_staff_page_is_forbidden(world, browser_for):
    """Another member's claim or policy is not found, as the API answers: a member may not
    learn it exists. A staff page is forbidden: the role may never see it."""
    page = browser_for(PHONE)
    sign_in(page, world, world.member_login, world.member_password)
    response = page.goto(f"{world.base_url}/me/claims/{world.other_claim_id}")
    assert response.status == 404 and page.locator("h1").inner_text() == "未找到"
    response = page.goto(f"{world.base_url}/me/policies/{world.other_policy_id}")
    assert response.status == 404
    response = page.goto(f"{world.base_url}/staff/audit")
    assert response.status == 403 and page.locator("h1").inner_text() == "无权访问"
    check(page, "forbidden")
    response = page.goto(f"{world.base_url}/me/no-such-page")
    assert response.status == 404 and page.locator("h1").inner_text() == "未找到"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_staff_console_pages_pass_the_accessibility_check(world, browser_for, viewport):
    page = browser_for(viewport)
    sign_in(page, world, "admin", world.demo_password)
    for name, path in [("staff-dashboard", f"/staff?project={world.project}"),
                       ("staff-members", f"/staff/members?q={world.member_login}"),
                       ("staff-catalog", "/staff/catalog"),
                       ("staff-product", "/staff/catalog/products/E2E-1"),
                       ("staff-governance", "/staff/governance"),
                       ("staff-feedback", "/staff/governance/feedback"),
                       ("staff-care-overdue", "/staff/care?status=overdue"),
                       ("staff-meetings", "/staff/meetings"),
                       ("staff-member-new", "/staff/members/new"),
                       ("staff-member-import", "/staff/members/import"),
                       ("staff-reserving", f"/staff/actuarial?project={world.project}"),
                       ("staff-pricing", "/staff/governance/pricing"),
                       ("staff-finance", f"/staff/finance?project={world.project}"),
                       ("staff-care-patients", "/staff/care/patients"),
                       ("staff-care-import", "/staff/care/import"),
                       ("staff-care-calculators", "/staff/care/calculators"),
                       ("staff-jobs", "/staff/jobs"),
                       ("staff-audit", "/staff/audit")]:
        page.goto(f"{world.base_url}{path}")
        check(page, name)


def test_the_secretary_sees_turnout_refresh_by_itself(world, browser_for):
    page = browser_for(DESKTOP)
    sign_in(page, world, "secretary", world.demo_password)
    with page.expect_response(re.compile(r"/staff/governance/turnout$"), timeout=20_000) as r:
        page.goto(f"{world.base_url}/staff/governance")
    assert r.value.status == 200
    page.wait_for_timeout(500)  # htmx swaps the answer in after it arrives
    assert world.proposal_title in page.inner_text("#turnout")


def test_the_sign_in_page_shows_the_demo_logins(world, browser_for):
    page = browser_for(PHONE)
    page.goto(f"{world.base_url}/")
    assert page.url.endswith("/signin")
    assert world.demo_password in page.inner_text("main")
    check(page, "signin")


def _today():
    from mutua.dates import today

    return today()
