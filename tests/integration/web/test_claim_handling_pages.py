"""Claims handling on the pages: the document checklist, declining with a reason (item 4)."""

from __future__ import annotations

from datetime import date, timedelta

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.claims import service as claims_service
from mutua.claims.schemas import ClaimIn, ItemIn
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in

TODAY = date.today()


def _disability_claim(db):
    f.accident_project(db)
    m = f.member(db, login=True)
    p = f.policy(db, member=m, on=TODAY - timedelta(days=30))
    claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=p.id, event_type="accident", event_date=TODAY - timedelta(days=2),
        items=[ItemIn(benefit_code="disability", disability_grade=8)]))
    db.commit()
    return m, claim


def test_a_handler_declines_with_a_reason_and_the_member_reads_it(client, db, staff_user):
    member, claim = _disability_claim(db)
    sign_in(client, staff_user(Role.CLAIMS))
    page = f"/staff/claims/{claim.id}"
    empty = post_form(client, f"{page}/decline", from_page=page, data={"reason": ""})
    assert empty.status_code == 422 and "拒赔须写明理由" in empty.text
    why = "伤残鉴定早于保障开始"
    done = post_form(client, f"{page}/decline", from_page=page, data={"reason": why})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=declined")
    assert "已拒赔" in client.get(done.headers["location"]).text

    client.cookies.clear()
    sign_in(client, member.member_number, f.PASSWORD)
    mine = client.get(f"/me/claims/{claim.id}")
    assert mine.status_code == 200
    assert 'id="declined"' in mine.text and why in mine.text


def test_the_member_sees_which_documents_are_still_missing(client, db):
    member, claim = _disability_claim(db)
    sign_in(client, member.member_number, f.PASSWORD)
    mine = client.get(f"/me/claims/{claim.id}")
    assert "本案所需材料" in mine.text and "伤残鉴定" in mine.text
    assert mine.text.count('class="missing"') == 4
