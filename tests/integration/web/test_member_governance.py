"""Member governance pages: vote, keep the receipt, check it; results after closing."""

from __future__ import annotations

import re
from datetime import timedelta

from mutua.auth.security import SYSTEM
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.governance import service as governance_service
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in


def _open_motion(db, project_id):
    now = utcnow()
    p = governance_service.create_proposal(
        db, kind="motion", project_id=project_id, title_zh="延长理赔时限", title_en="Longer claim window",
        quorum="0.1", opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=7),
        actor=SYSTEM)
    governance_service.open_proposal(db, proposal_id=p.id, actor=SYSTEM)
    return p


def test_a_member_votes_keeps_the_receipt_and_checks_it(client, db):
    product = f.accident_project(db)
    m = f.member(db, login=True)
    f.policy(db, member=m, on=shanghai_today() - timedelta(days=10))
    db.commit()
    # cover starts the day after enrolment; vote the day after that is fine either way
    p = _open_motion(db, product.project_id)
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)

    listing = client.get("/me/governance")
    assert "延长理赔时限" in listing.text
    voted = post_form(client, f"/me/governance/proposals/{p.id}/vote", {"choice": "yes"},
                      from_page=f"/me/governance/proposals/{p.id}")
    assert voted.status_code == 200, voted.text[-800:]
    secret = re.search(r'id="secret">([0-9a-f]{64})<', voted.text).group(1)
    assert re.search(r'id="receipt">([0-9a-f]+)<', voted.text)
    # 64 characters twice: copied or saved by a button, not typed out by hand
    assert 'data-copy="secret"' in voted.text and 'data-lines="receipt,secret"' in voted.text
    assert '<script src="/static/js/receipt.js" defer>' in voted.text

    again = post_form(client, f"/me/governance/proposals/{p.id}/vote", {"choice": "no"},
                      from_page=f"/me/governance/proposals/{p.id}")
    assert again.status_code == 409 and "您已经投过票" in again.text

    checked = post_form(client, f"/me/governance/proposals/{p.id}/check",
                        {"secret": secret, "choice": "yes"})
    assert checked.status_code == 200 and "已计入" in checked.text
    wrong = post_form(client, f"/me/governance/proposals/{p.id}/check",
                      {"secret": secret, "choice": "no"})
    assert "未找到" in wrong.text


def test_a_member_without_cover_is_told_they_cannot_vote(client, db):
    product = f.accident_project(db)
    m = f.member(db, login=True)
    f.policy(db, member=m)  # cover starts tomorrow: not in force when voting opened
    p = _open_motion(db, product.project_id)
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    page = client.get(f"/me/governance/proposals/{p.id}")
    assert page.status_code == 200 and "不在本议案的投票人名单中" in page.text


def test_a_member_rates_joining_and_sends_feedback(client, db):
    f.accident_project(db)
    m = f.member(db, login=True)
    p = f.policy(db, member=m)
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    rated = post_form(client, "/me/governance/ratings",
                      {"service_kind": "enrolment", "service_ref": str(p.id), "score": "2",
                       "comment": "等了很久"}, from_page="/me/governance")
    assert rated.status_code == 303
    sent = post_form(client, "/me/governance/feedback", {"text": "希望增加夜间客服"},
                     from_page="/me/governance")
    assert sent.status_code == 303
    page = client.get("/me/governance?done=feedback")
    assert "希望增加夜间客服" in page.text and "尚未答复" in page.text
    assert "2/5" in page.text
