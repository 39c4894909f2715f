"""Complaints (投诉): filed by a member, owned, acknowledged, extended, answered; overdue ones
on the staff dashboard; counts by cause per quarter.

Due days: 银行业保险业消费投诉处理管理办法 (CBIRC Order 2020 No. 3) art. 19 — answered
within 15 days of receipt, up to 30 for a complex case; acknowledged by the next working day.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mutua.auth.roles import Role
from mutua.complaints import service as complaints
from mutua.errors import Conflict, Forbidden, ValidationFailed
from mutua.members import accounts
from mutua.notify.models import Notification
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in

FRIDAY = date(2026, 12, 4)


def member_principal(db, m):
    return accounts.principal_of(f.login_of(db, m))


@pytest.fixture
def people(db):
    f.accident_project(db)
    me, other = f.member(db, login=True), f.member(db, login=True)
    handler = accounts.principal_of(f.staff(db, Role.CLAIMS))
    db.commit()
    return member_principal(db, me), member_principal(db, other), handler


def test_a_complaint_gets_a_reference_and_its_due_days(db, people):
    me, _, _ = people
    c = complaints.file(db, actor=me, cause="service", text="电话一直打不通", on=FRIDAY)
    assert c.reference.startswith("TS") and c.status == "received"
    assert c.acknowledge_due_on == date(2026, 12, 7)  # Friday -> Monday
    assert c.answer_due_on == FRIDAY + timedelta(days=15)
    assert c.quarter == "2026Q4"


def test_it_is_owned_acknowledged_extended_and_answered_and_the_member_is_told(db, people):
    me, _, handler = people
    c = complaints.file(db, actor=me, cause="decision", text="拒赔理由不清楚", on=FRIDAY)
    complaints.assign(db, complaint_id=c.id, owner=handler.username, actor=handler)
    complaints.acknowledge(db, complaint_id=c.id, actor=handler)
    complaints.extend(db, complaint_id=c.id, reason="需要调取医院记录", actor=handler)
    assert c.answer_due_on == FRIDAY + timedelta(days=30)
    with pytest.raises(Conflict):
        complaints.extend(db, complaint_id=c.id, reason="again", actor=handler)
    complaints.answer(db, complaint_id=c.id, text="已复核，维持原决定。", actor=handler,
                      on=FRIDAY + timedelta(days=20))
    assert (c.status, c.owner_name, c.answered_by) == ("answered", handler.username,
                                                       handler.username)
    told = db.scalar(select(Notification).where(Notification.event == "complaint.answered"))
    assert told.member_id == me.member_id and told.ref_text == c.reference
    with pytest.raises(Conflict):
        complaints.answer(db, complaint_id=c.id, text="again", actor=handler)


def test_bad_complaints_are_refused_naming_each_field(db, people):
    me, other, _ = people
    with pytest.raises(ValidationFailed) as refused:
        complaints.file(db, actor=me, cause="weather", text="  ")
    assert [p.field for p in refused.value.problems] == ["cause", "text"]
    f.accident_project(db, code="OTHER")
    with pytest.raises(Forbidden):
        complaints.file(db, actor=accounts.principal_of(f.staff(db, Role.CLAIMS)),
                        cause="other", text="x")


def test_a_member_complains_only_about_their_own_claim_and_reads_only_their_own(db, people):
    me, other, _ = people
    with pytest.raises(ValidationFailed):
        complaints.file(db, actor=me, cause="claim", text="x", claim_id=999999)
    theirs = complaints.file(db, actor=other, cause="service", text="slow")
    with pytest.raises(Forbidden):
        complaints.get(db, complaint_id=theirs.id, actor=me)


def test_overdue_complaints_are_counted_and_listed_first(db, people):
    me, _, handler = people
    old = complaints.file(db, actor=me, cause="service", text="old", on=FRIDAY)
    new = complaints.file(db, actor=me, cause="claim", text="new", on=FRIDAY + timedelta(days=13))
    day = FRIDAY + timedelta(days=16)
    assert complaints.overdue_count(db, on=day) == 2  # old: answer late; new: not acknowledged
    complaints.acknowledge(db, complaint_id=new.id, actor=handler)
    assert complaints.overdue_count(db, on=day) == 1
    assert [c.id for c in complaints.queue(db, actor=handler, on=day)] == [old.id, new.id]
    assert [c.id for c in complaints.queue(db, actor=handler, status="overdue", on=day)] == [
        old.id]


def test_counts_by_cause_per_quarter(db, people):
    me, _, handler = people
    for cause, on in [("claim", date(2026, 9, 30)), ("claim", date(2026, 10, 1)),
                      ("service", date(2026, 10, 2)), ("claim", date(2026, 11, 2))]:
        complaints.file(db, actor=me, cause=cause, text="x", on=on)
    late = complaints.file(db, actor=me, cause="decision", text="x", on=date(2026, 10, 3))
    complaints.answer(db, complaint_id=late.id, text="done", actor=handler,
                      on=date(2026, 10, 30))
    report = {q.quarter: q for q in complaints.counts_by_quarter(db, actor=handler)}
    assert report["2026Q3"].by_cause["claim"] == 1 and report["2026Q3"].total == 1
    q4 = report["2026Q4"]
    assert (q4.by_cause["claim"], q4.by_cause["service"], q4.by_cause["decision"]) == (2, 1, 1)
    assert (q4.total, q4.answered, q4.answered_late) == (4, 1, 1)
    with pytest.raises(Forbidden):
        complaints.counts_by_quarter(db, actor=me)


def test_the_pages_file_answer_and_show_the_overdue_on_the_dashboard(client, db, people):
    me, _, handler = people
    from mutua.members.models import Member

    member = db.get(Member, me.member_id)
    sign_in(client, member.member_number, f.PASSWORD)
    r = post_form(client, "/me/complaints", {"cause": "service", "text": ""})
    assert r.status_code == 422 and "投诉内容" in r.text
    r = post_form(client, "/me/complaints", {"cause": "service", "text": "客服没有回电"})
    assert r.status_code == 303
    complaint_url = r.headers["location"].split("?")[0]
    client.cookies.clear()
    admin = f.staff(db, Role.ADMIN)
    db.commit()
    sign_in(client, admin.username, f.PASSWORD)
    stale = db.scalar(select(complaints.Complaint))
    stale.acknowledge_due_on = stale.answer_due_on = date(2000, 1, 3)
    db.commit()
    assert "complaints-overdue" in client.get("/staff").text
    cid = complaint_url.rsplit("/", 1)[1]
    r = post_form(client, f"/staff/complaints/{cid}/answer", {"answer": "已回电并致歉。"},
                  from_page=f"/staff/complaints/{cid}")
    assert r.status_code == 303
    assert "complaints-overdue" not in client.get("/staff").text
    client.cookies.clear()
    sign_in(client, member.member_number, f.PASSWORD)
    page = client.get(complaint_url)
    assert "已回电并致歉。" in page.text and "已答复" in page.text
