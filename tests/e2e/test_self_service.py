"""Journeys of a member who serves themselves: joining from a phone with the code the SMS
carried (read from the console sender), hearing of a claim in the inbox, and a complaint
answered by the complaints team."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pytest

from mutua.dates import today as shanghai_today
from mutua.members.idcard import make_id_number
from mutua.notify.sms import read_console
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_journeys import INVOICE, buy_first_offer, check, sign_in

pytestmark = pytest.mark.e2e
PHONE_NUMBER = "13766668888"
PASSWORD = "my-own-pass-2026"
SHARED: dict = {}


def code_sent_to(world, phone: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sent = read_console(world.sms_file, phone)
        if sent:
            return re.search(r"\d{6}", sent[-1]["text"]).group(0)
        time.sleep(0.2)
    raise AssertionError("no SMS was written for this phone")


def test_a_person_joins_on_a_phone_with_the_sms_code(world, browser_for):
    page = browser_for(PHONE)
    page.goto(f"{world.base_url}/signin")
    page.click("a[href='/join']")
    check(page, "join")
    page.fill("#name", "周新会")
    page.fill("#id_number", make_id_number("440305", date(1985, 7, 13), 777))
    page.fill("#phone", PHONE_NUMBER)
    page.select_option("#occupation_code", "A0103")
    page.fill("#city", "深圳")
    page.click("form[action='/join/code'] button[type=submit]")
    page.wait_for_selector("#sms_code")
    check(page, "join-code")
    code = code_sent_to(world, f"+86{PHONE_NUMBER}")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page.fill("#sms_code", wrong)
    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    page.click("form[action='/join'] button[type=submit]")
    assert "与我们发送的验证码不符" in page.inner_text("main")  # nothing stored; try again
    page.fill("#sms_code", code)
    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    page.click("form[action='/join'] button[type=submit]")
    page.wait_for_url(re.compile(r"/me/enrol"))
    # straight on to a product, as a member: its terms, then payment
    buy_first_offer(page, world, "join-enrol")


def test_a_claims_notification_arrives_in_the_inbox(world, browser_for):
    # A member whose cover has run since last quarter (a new member's starts later).
    page = browser_for(PHONE)
    sign_in(page, world, world.member_login, world.member_password)
    page.goto(f"{world.base_url}/me/claims/new")
    option = page.locator("#cover option", has_text="测试意外险").filter(has_text="意外医疗")
    page.select_option("#cover", value=option.first.get_attribute("value"))
    page.select_option("#event_type", "accident")
    # the Shanghai day, five days back: not the day of the phone journey's own claim, which a
    # second report of the same event and day would duplicate
    page.fill("#event_date", (shanghai_today() - timedelta(days=5)).isoformat())
    page.fill("#place", "深圳市福田区")
    page.fill("#description", "骑车摔倒，膝盖擦伤")
    page.fill("#invoice_amount", "800")
    page.select_option("#document_kind", "invoice")
    page.set_input_files("#document", files=[{"name": "invoice.pdf",
                                              "mimeType": "application/pdf",
                                              "buffer": INVOICE}])
    page.click("form[action='/me/claims/new'] button[type=submit]")
    page.wait_for_url(re.compile(r"/me/claims/\d+\?done=claim"))
    number = page.locator("h1").inner_text().split()[-1]
    assert page.locator("nav .badge").count() == 1  # the unread count in the menu
    page.click("nav a[href='/me/inbox']")
    assert f"理赔案{number}已报案" in page.inner_text("main")
    check(page, "member-inbox")
    page.goto(f"{world.base_url}/me/notifications")
    check(page, "member-notifications")


def test_a_complaint_is_answered(world, browser_for):
    member = browser_for(PHONE)
    sign_in(member, world, PHONE_NUMBER, PASSWORD)
    member.goto(f"{world.base_url}/me/complaints")
    member.select_option("#cause", "service")
    member.fill("#text", "客服电话一直占线")
    member.click("form[action='/me/complaints'] button[type=submit]")
    member.wait_for_url(re.compile(r"/me/complaints/\d+\?done=filed"))
    check(member, "member-complaint")
    path = member.url.split("?")[0].replace("/me/", "/staff/")

    staff = browser_for(DESKTOP)
    sign_in(staff, world, "claims", world.demo_password)
    staff.goto(f"{world.base_url}/staff/complaints")
    check(staff, "staff-complaints")
    staff.goto(path)
    staff.fill("#answer", "已安排专人回电，并增加了接线人员。")
    staff.click("form[action$='/answer'] button[type=submit]")
    assert "答复已发送给会员" in staff.inner_text("main")

    member.reload()
    assert "已安排专人回电" in member.locator("#complaint-answer").inner_text()
    member.goto(f"{world.base_url}/me/inbox")
    assert "已答复" in member.inner_text("main")
