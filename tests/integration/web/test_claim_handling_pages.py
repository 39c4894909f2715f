"""Claims handling on the pages: the document checklist, declining with a reason (item 4)."""

from __future__ import annotations

from mutua.auth.roles import Role
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in
from tests.integration.web.test_staff_claim_actions import open_claim


def _open_claim(db):
    claim, member = open_claim(db)  # a medical claim: invoice, medical record, bank card
    return member, claim


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

    client.cookies.clear()
    sign_in(client, member.member_number, f.PASSWORD)
    mine = client.get(f"/me/claims/{claim.id}")
    assert mine.status_code == 200
    assert 'id="declined"' in mine.text and why in mine.text


def test_the_member_sees_which_documents_are_still_missing(client, db):
    member, claim = _open_claim(db)
    sign_in(client, member.member_number, f.PASSWORD)
    mine = client.get(f"/me/claims/{claim.id}")
    assert "本案所需材料" in mine.text and "病历" in mine.text
    assert mine.text.count('class="missing"') == 3
