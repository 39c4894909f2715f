"""Claims handling on the pages: the document checklist, declining with a reason (item 4)."""

from __future__ import annotations

from datetime import timedelta

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.claims import service as claims_service
from mutua.claims.models import Claim
from mutua.claims.schemas import ClaimIn, ItemIn
from mutua.dates import today as shanghai_today
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in
from tests.integration.web.test_staff_claim_actions import open_claim


def _open_claim(db):
    claim, member = open_claim(db)  # a medical claim: invoice, medical record, bank card
    return member, claim


def _as_member(client, member):
    client.cookies.clear()
    sign_in(client, member.member_number, f.PASSWORD)


def test_a_handler_declines_with_a_reason_and_the_member_reads_it(client, db, staff_user):
    member, claim = _open_claim(db)
    sign_in(client, staff_user(Role.CLAIMS))
    page = f"/staff/claims/{claim.id}"
    empty = post_form(client, f"{page}/decline", from_page=page, data={"reason": ""})
    assert empty.status_code == 422 and "拒赔须写明理由" in empty.text
    why = "就诊记录显示伤情早于保障开始"
    done = post_form(client, f"{page}/decline", from_page=page, data={"reason": why})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=declined")
    assert "已拒赔" in client.get(done.headers["location"]).text

    _as_member(client, member)
    mine = client.get(f"/me/claims/{claim.id}")
    assert mine.status_code == 200
    assert 'id="declined"' in mine.text and why in mine.text


def test_the_member_sees_which_documents_are_still_missing(client, db):
    member, claim = _open_claim(db)
    sign_in(client, member.member_number, f.PASSWORD)
    mine = client.get(f"/me/claims/{claim.id}")
    assert "本案所需材料" in mine.text and "病历" in mine.text
    assert mine.text.count('class="missing"') == 3


def test_a_request_for_documents_reaches_the_member_in_words(client, db, staff_user):
    member, claim = _open_claim(db)
    sign_in(client, staff_user(Role.CLAIMS))
    page = f"/staff/claims/{claim.id}"
    none = post_form(client, f"{page}/documents-request", from_page=page, data={"note": ""})
    assert none.status_code == 422 and "请至少选择一项需要补充的材料" in none.text
    done = post_form(client, f"{page}/documents-request", from_page=page,
                     data={"kinds": ["invoice", "bank_card"], "note": "请提供原件照片"})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=requested")
    staff_page = client.get(done.headers["location"]).text
    assert "暂停：自" in staff_page and "等待会员补充材料" in staff_page

    _as_member(client, member)
    mine = client.get(f"/me/claims/{claim.id}").text
    assert 'id="documents-requested"' in mine and "核定您的理赔还需要补充材料" in mine
    assert "发票、银行卡" in mine and "请提供原件照片" in mine
    assert "bank_card" not in mine.replace('value="bank_card"', "")


def test_overdue_claims_stand_out_and_the_dashboard_counts_them(client, db, staff_user):
    _member, claim = _open_claim(db)
    late = db.get(Claim, claim.id)
    late.decision_due_on = shanghai_today() - timedelta(days=1)  # reported 31 days ago
    db.commit()
    handler = staff_user(Role.CLAIMS)
    sign_in(client, handler)
    queue = client.get("/staff/claims").text
    assert 'class="overdue"' in queue and "已超期" in queue
    overdue = client.get("/staff/claims", params={"status": "overdue"}).text
    assert claim.claim_number in overdue and "共1件理赔" in overdue

    client.cookies.clear()
    sign_in(client, staff_user(Role.ADMIN))
    dashboard = client.get("/staff").text
    assert "1 件超期" in dashboard and "/staff/claims?status=overdue&amp;project=" in dashboard


def test_a_claim_is_assigned_on_its_page_and_found_under_mine(client, db, staff_user):
    _member, claim = _open_claim(db)
    handler = staff_user(Role.CLAIMS, "wang-handler")
    sign_in(client, handler)
    page = f"/staff/claims/{claim.id}"
    wrong = post_form(client, f"{page}/assign", from_page=page, data={"handler": "nobody-here"})
    assert wrong.status_code == 422 and "不是在职理赔员" in wrong.text
    done = post_form(client, f"{page}/assign", from_page=page, data={"handler": "wang-handler"})
    assert done.status_code == 303
    mine = client.get("/staff/claims", params={"mine": "true"}).text
    assert claim.claim_number in mine and "wang-handler" in mine


def test_the_member_reads_how_a_medical_amount_is_worked_out(client, db):
    """Invoice 1,000, social insurance 400, deductible 100, share paid 90% with social
    insurance: (1,000 - 400 - 100) x 0.9 = 450, within the 600 the member paid."""
    f.accident_project(db)
    member = f.member(db, login=True)
    policy = f.policy(db, member=member, on=shanghai_today() - timedelta(days=30))
    claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=policy.id, event_type="accident", event_date=shanghai_today() - timedelta(days=2),
        items=[ItemIn(benefit_code="medical", invoice_amount="1000",
                      social_insurance_paid="400", has_social_insurance=True)]))
    db.commit()
    _as_member(client, member)
    page = client.get(f"/me/claims/{claim.id}").text
    section = page[page.index('class="card breakdown"'):]
    section = section[:section.index("</section>")]
    for words in ("赔付金额如何计算", "¥1,000.00", "−¥400.00", "−¥100.00", "90.0%", "¥450.00",
                  "¥600.00"):
        assert words in section, words
    assert section.index("¥1,000.00") < section.index("−¥400.00") < section.index("¥450.00")
