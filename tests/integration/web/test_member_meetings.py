"""Members read the minutes of a meeting in their language and see whether they attended."""

from __future__ import annotations

from datetime import timedelta

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.dates import utcnow
from mutua.governance import meetings
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in


def _as_member(m) -> Principal:
    return Principal(user_id=0, username=m.member_number, role=Role.MEMBER, member_id=m.id)


def _held_meeting(db):
    product = f.accident_project(db)
    came, absent = f.member(db, login=True), f.member(db, login=True)
    for m in (came, absent):
        f.policy(db, member=m)
    held = meetings.schedule_meeting(
        db, project_id=product.project_id, title_zh="会员恳谈会", title_en="Members' meeting",
        mode="online", place="https://meet.example/1", starts_at=utcnow() - timedelta(days=1),
        actor=SYSTEM)
    for m in (came, absent):
        meetings.register(db, meeting_id=held.id, actor=_as_member(m))
    meetings.record_attendance_of(db, meeting_id=held.id, actor=SYSTEM, member_ids=[came.id])
    meetings.publish_bilingual_minutes(db, meeting_id=held.id, minutes_zh="决定开通夜间热线。",
                                       minutes_en="Agreed to open a night helpline.",
                                       actor=SYSTEM)
    db.commit()
    return held, came, absent


def test_a_member_reads_the_minutes_in_their_language_and_sees_they_attended(client, db):
    held, came, _absent = _held_meeting(db)
    sign_in(client, came.member_number, f.PASSWORD)
    page = client.get("/me/governance")
    assert page.status_code == 200
    assert "决定开通夜间热线。" in page.text and "Agreed to open" not in page.text
    assert "您已出席" in page.text
    post_form(client, "/language", {"locale": "en", "next": "/me/governance"},
              from_page="/me/governance")
    english = client.get("/me/governance")
    assert "Agreed to open a night helpline." in english.text
    assert "决定开通夜间热线" not in english.text and "You attended" in english.text


def test_a_registered_member_not_present_is_told_so(client, db):
    _held, _came, absent = _held_meeting(db)
    sign_in(client, absent.member_number, f.PASSWORD)
    page = client.get("/me/governance")
    assert "您已报名，但未登记出席" in page.text and "您已出席" not in page.text


def test_unpublished_minutes_and_a_registration_to_come(client, db):
    product = f.accident_project(db)
    m = f.member(db, login=True)
    f.policy(db, member=m)
    later = meetings.schedule_meeting(
        db, project_id=product.project_id, title_zh="下季度恳谈会", title_en="Next meeting",
        mode="in_person", place="深圳", starts_at=utcnow() + timedelta(days=7), actor=SYSTEM)
    meetings.register(db, meeting_id=later.id, actor=_as_member(m))
    past = meetings.schedule_meeting(
        db, project_id=product.project_id, title_zh="上季度恳谈会", title_en="Last meeting",
        mode="in_person", place="深圳", starts_at=utcnow() - timedelta(days=7), actor=SYSTEM)
    meetings.record_attendance_of(db, meeting_id=past.id, actor=SYSTEM,
                                  member_numbers=[m.member_number])
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    page = client.get("/me/governance")
    assert "您已报名" in page.text and "会议纪要尚未发布" in page.text
    assert "您已出席" in page.text  # signed in at the door without registering


def test_a_member_of_another_project_never_sees_the_meeting_or_its_minutes(client, db):
    _held_meeting(db)
    f.accident_project(db, code="OTHER-ACC")
    other = f.member(db, login=True)
    f.policy(db, member=other, product_code="OTHER-ACC-1")
    db.commit()
    sign_in(client, other.member_number, f.PASSWORD)
    page = client.get("/me/governance")
    assert page.status_code == 200
    assert "会员恳谈会" not in page.text and "决定开通夜间热线" not in page.text
