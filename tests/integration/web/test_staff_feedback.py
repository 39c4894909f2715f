"""The feedback queue for the secretary (/staff/governance/feedback): its own page, one form
per item, unanswered first, filtered by status and paged, so the governance page stays short."""

from __future__ import annotations

import re

import pytest

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.governance import meetings
from mutua.governance.models import FeedbackItem
from mutua.web.pages.staff_governance import FEEDBACK_PAGE
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in

QUEUE = "/staff/governance/feedback"


@pytest.fixture
def secretary(client, staff_user):
    sign_in(client, staff_user(Role.SECRETARY))
    return client


def _forms(html: str) -> int:
    return len(re.findall(r'<form method="post" action="/staff/governance/feedback/\d+"', html))


def test_the_governance_page_links_to_the_queue_instead_of_holding_every_form(db, secretary):
    for n in range(FEEDBACK_PAGE + 5):
        meetings.raise_feedback(db, text=f"意见{n}", actor=SYSTEM)
    answered = meetings.raise_feedback(db, text="已答复的意见", actor=SYSTEM)
    meetings.update_feedback(db, item_id=answered.id, actor=SYSTEM, owner="客服部",
                             response="已处理", status="answered")
    db.commit()
    page = secretary.get("/staff/governance")
    assert _forms(page.text) == 0
    assert f'<a href="{QUEUE}">{FEEDBACK_PAGE + 5} 条意见待答复</a>' in page.text

    first = secretary.get(QUEUE)
    assert first.status_code == 200 and _forms(first.text) == FEEDBACK_PAGE
    assert "已答复的意见" not in first.text and f"意见{FEEDBACK_PAGE + 4}" in first.text
    second = secretary.get(QUEUE, params={"status": "unanswered", "offset": FEEDBACK_PAGE})
    assert _forms(second.text) == 5 and "意见0" in second.text
    done = secretary.get(QUEUE, params={"status": "answered"})
    assert _forms(done.text) == 1 and "已答复的意见" in done.text
    bad = secretary.get(QUEUE, params={"status": "lost"})
    assert bad.status_code == 422 and "status" in bad.text


def test_an_answer_is_saved_and_the_queue_comes_back_where_it_was(db, secretary):
    item = meetings.raise_feedback(db, text="希望增加夜间客服", actor=SYSTEM)
    db.commit()
    saved = post_form(secretary, f"{QUEUE}/{item.id}",
                      {"owner": "客服部", "response": "下月起开通夜间热线", "status": "answered",
                       "shown_status": "unanswered"}, from_page=QUEUE)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{QUEUE}?status=unanswered#item-{item.id}"
    db.expire_all()
    row = db.get(FeedbackItem, item.id)
    assert (row.owner, row.response, row.status) == ("客服部", "下月起开通夜间热线", "answered")
    refused = post_form(secretary, f"{QUEUE}/{item.id}", {"status": "lost"}, from_page=QUEUE)
    assert refused.status_code == 422 and "未保存" in refused.text
    db.expire_all()
    assert db.get(FeedbackItem, item.id).status == "answered"


def test_a_member_cannot_open_the_queue(client, db):
    m = f.member(db, login=True)
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    assert client.get(QUEUE).status_code in (403, 404)
