"""Journeys of a member who serves themselves: joining from a phone with the code the SMS
carried (read from the console sender), an imported member's first sign-in with a code,
hearing of a claim in the inbox, and a complaint answered by the complaints team."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pytest

from mutua.dates import today as shanghai_today
from mutua.members.idcard import make_id_number
from mutua.messaging.sms import read_console
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_journeys import INVOICE, buy_first_offer, check, sign_in

pytestmark = pytest.mark.e2e
PHONE_NUMBER = "13766668888"
PASSWORD = "my-own-pass-2026"
SHARED: dict = {}


def code_sent_to(world, phone: str) -> str:
    """The code in the last SMS that carried one to ``phone`` (other messages, such as
    "your account is ready", may come and go beside it)."""
    deadline = time.monotonic() + 60  # the outbox's worker sends it; CI may be busy
    while time.monotonic() < deadline:
        # "your account is ready" names 验证码 too, with no code, and the outbox may deliver
        # it after the code: only a message carrying six digits counts
        sent = [found.group(1) for m in read_console(world.sms_file, phone)
                if (found := re.search(r"验证码\D*(\d{6})", m["text"]))]
        if sent:
            return sent[-1]
        time.sleep(0.2)
    raise AssertionError("no SMS with a code was written for this phone")


def enter_code(page, form: str, code: str, password: str) -> None:
    """Type the SMS code and a new password twice into the form posting to ``form``, and send."""
    page.fill("#sms_code", code)
    page.fill("#password", password)
    page.fill("#password_again", password)
    page.click(f"form[action='{form}'] button[type=submit]")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


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
    enter_code(page, "/join", wrong(code), PASSWORD)
    assert "与我们发送的验证码不符" in page.inner_text("main")  # nothing stored; try again
    enter_code(page, "/join", code, PASSWORD)
    page.wait_for_url(re.compile(r"/me/enrol"))
    # straight on to a product, as a member: its terms, then payment
    buy_first_offer(page, world, "join-enrol")


IMPORTED_PHONES = ("13766669001", "13766669002", "13766669003")


def test_an_imported_member_signs_in_the_first_time_with_a_code(world, browser_for, tmp_path):
    # Staff import a small group with logins; each member is told to sign in with a code.
    rows = ["name,id_number,phone,occupation_code,city"] + [
        f"骑手{n},{make_id_number('440305', date(1993, 4, 1 + n), 601 + 2 * n)},{phone},A0103,深圳"
        for n, phone in enumerate(IMPORTED_PHONES)]
    group = tmp_path / "group.csv"
    group.write_text("\n".join(rows) + "\n", encoding="utf-8")
    staff = browser_for(DESKTOP)
    sign_in(staff, world, "underwriter", world.demo_password)
    staff.goto(f"{world.base_url}/staff/members/import")
    offer = staff.locator("#offer option", has_text=f"({world.project}-1)").first
    staff.select_option("#offer", value=offer.get_attribute("value"))
    staff.set_input_files("#file", str(group))
    staff.check("input[name=logins]")
    staff.click("form[action='/staff/members/import'] button[type=submit]")
    staff.wait_for_selector("a[href^='/staff/members/import?job=']", timeout=60_000)
    staff.click("a[href^='/staff/members/import?job=']")
    assert "首次" in staff.inner_text("main")  # logins created, first sign-in by SMS code

    # The member signs in the first time on a phone: number, code, own password.
    page = browser_for(PHONE)
    page.goto(f"{world.base_url}/signin")
    page.click("a[href='/reset']")
    page.fill("#login", IMPORTED_PHONES[0])
    page.click("form[action='/reset/code'] button[type=submit]")
    page.wait_for_selector("#sms_code")
    check(page, "first-sign-in-code")
    code = code_sent_to(world, f"+86{IMPORTED_PHONES[0]}")
    enter_code(page, "/reset", wrong(code), PASSWORD)
    assert "与我们发送的验证码不符" in page.inner_text("main")
    enter_code(page, "/reset", code, PASSWORD)
    page.wait_for_url(re.compile(r"/me$"))
    assert "骑手0" in page.inner_text("body")
    # and from now on signs in with the password chosen
    page.click("form[action='/signout'] button[type=submit]")
    sign_in(page, world, IMPORTED_PHONES[0], PASSWORD)
    assert re.search(r"/me$", page.url)


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
