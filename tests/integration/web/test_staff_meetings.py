"""Member meetings for the secretary (/staff/meetings): the list with registrations and
attendance, one meeting's page to record who came and publish the minutes, and the
feedback raised there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.dates import utcnow
from mutua.governance import meetings
from mutua.governance.models import Meeting, MeetingRegistration
from mutua.web.pages.staff_meetings import member_numbers
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in

PAGE = "/staff/meetings"


def as_member(m) -> Principal:
    return Principal(user_id=0, username=m.member_number, role=Role.MEMBER, member_id=m.id)


def meeting(db, project_id, *, hours: float = -1, title="第一季度会员恳谈会") -> Meeting:
    return meetings.schedule_meeting(
        db, project_id=project_id, title_zh=title, title_en="First-quarter members' meeting",
        mode="in_person", place="深圳市福田区会员中心", starts_at=utcnow() + timedelta(hours=hours),
        actor=SYSTEM)


@pytest.fixture
def setting(db):
    """A project with three members, two registered for a meeting held an hour ago, and a
    member of another project."""
    product = f.accident_project(db)
    members = [f.member(db, name=n, login=True) for n in ("张三", "李四", "王五")]
    for m in members:
        f.policy(db, member=m)
    f.accident_project(db, code="OTHER-ACC")
    stranger = f.member(db, name="赵六", login=True)
    f.policy(db, member=stranger, product_code="OTHER-ACC-1")
    held = meeting(db, product.project_id)
    for m in members[:2]:
        meetings.register(db, meeting_id=held.id, actor=as_member(m))
    db.commit()
    return {"project_id": product.project_id, "members": members, "stranger": stranger,
            "meeting": held}


@pytest.fixture
def secretary(client, staff_user):
    sign_in(client, staff_user(Role.SECRETARY))
    return client


def _attended(db, meeting_id) -> dict[int, bool]:
    db.rollback()  # read what the request committed
    return dict(db.execute(select(MeetingRegistration.member_id, MeetingRegistration.attended)
                           .where(MeetingRegistration.meeting_id == meeting_id)).all())


def test_the_list_shows_registrations_attendance_and_minutes(db, secretary, setting):
    later = meeting(db, setting["project_id"], hours=48, title="第二季度会员恳谈会")
    db.commit()
    page = secretary.get(PAGE)
    assert page.status_code == 200
    assert "会员恳谈会" in page.text and "第二季度会员恳谈会" in page.text
    assert f'href="/staff/meetings/{setting["meeting"].id}"' in page.text
    upcoming = secretary.get(f"{PAGE}?when=upcoming")
    assert "第二季度会员恳谈会" in upcoming.text and "第一季度会员恳谈会" not in upcoming.text
    past = secretary.get(f"{PAGE}?when=past")
    assert "第一季度会员恳谈会" in past.text and "第二季度会员恳谈会" not in past.text
    counts = meetings.meeting_counts(db, meeting_ids=[setting["meeting"].id, later.id])
    assert counts == {setting["meeting"].id: (2, 0)}


def test_the_meeting_page_lists_registered_members_masked(db, secretary, setting):
    m = setting["meeting"]
    page = secretary.get(f"{PAGE}/{m.id}")
    assert page.status_code == 200
    first, second, third = setting["members"]
    assert first.member_number in page.text and second.member_number in page.text
    assert third.member_number not in page.text
    assert "张*" in page.text and "张三" not in page.text
    assert "深圳市福田区会员中心" in page.text


def test_attendance_by_tick_and_by_number_with_a_walk_in(db, secretary, setting):
    m = setting["meeting"]
    first, second, walk_in = setting["members"]
    done = post_form(secretary, f"{PAGE}/{m.id}/attendance",
                     {"attended": str(first.id), "numbers": f"{walk_in.member_number}\n"},
                     from_page=f"{PAGE}/{m.id}")
    assert done.status_code == 303 and "done=attendance" in done.headers["location"]
    assert _attended(db, m.id) == {first.id: True, second.id: False, walk_in.id: True}
    page = secretary.get(done.headers["location"])
    assert "出席情况已登记" in page.text and 'id="attended-count">2<' in page.text
    listed = secretary.get(PAGE)
    assert listed.status_code == 200


@pytest.mark.parametrize("who,words", [("unknown", "不是有效的会员编号"),
                                       ("stranger", "不是本次会议所属项目的会员")])
def test_refused_member_numbers_are_named_and_nothing_is_stored(db, secretary, setting, who,
                                                                  words):
    m = setting["meeting"]
    first = setting["members"][0]
    number = "M999999999" if who == "unknown" else setting["stranger"].member_number
    refused = post_form(secretary, f"{PAGE}/{m.id}/attendance",
                        {"attended": str(first.id), "numbers": number},
                        from_page=f"{PAGE}/{m.id}")
    assert refused.status_code == 422
    assert f"{number}：{words}" in refused.text
    assert f">{number}</textarea>" in refused.text  # what was typed is kept
    assert not any(_attended(db, m.id).values())
    assert setting["stranger"].id not in _attended(db, m.id)


def test_a_forged_tick_and_an_empty_form_are_refused(db, secretary, setting):
    m = setting["meeting"]
    forged = post_form(secretary, f"{PAGE}/{m.id}/attendance",
                       {"attended": str(setting["members"][2].id)}, from_page=f"{PAGE}/{m.id}")
    assert forged.status_code == 422 and "须为已报名本次会议的会员" in forged.text
    empty = post_form(secretary, f"{PAGE}/{m.id}/attendance", {"numbers": "  "},
                      from_page=f"{PAGE}/{m.id}")
    assert empty.status_code == 422 and "请至少勾选或输入一位会员" in empty.text
    assert not any(_attended(db, m.id).values())


def test_attendance_waits_for_the_meeting_to_start(db, secretary, setting):
    later = meeting(db, setting["project_id"], hours=48)
    db.commit()
    page = secretary.get(f"{PAGE}/{later.id}")
    assert "会议开始后方可登记出席" in page.text and 'name="numbers"' not in page.text
    refused = post_form(secretary, f"{PAGE}/{later.id}/attendance",
                        {"numbers": setting["members"][0].member_number},
                        from_page=f"{PAGE}/{later.id}")
    assert refused.status_code == 409 and "会议开始后方可登记出席" in refused.text
    assert _attended(db, later.id) == {}


def test_minutes_in_both_languages_then_amended(db, secretary, setting):
    m = setting["meeting"]
    done = post_form(secretary, f"{PAGE}/{m.id}/minutes",
                     {"minutes_zh": "一、通报理赔情况。\n二、讨论夜间客服。",
                      "minutes_en": "1. Claims report.\n2. Night-time helpline."},
                     from_page=f"{PAGE}/{m.id}")
    assert done.status_code == 303
    page = secretary.get(done.headers["location"])
    assert "<p>二、讨论夜间客服。</p>" in page.text and "Night-time helpline." in page.text
    assert "修订会议纪要" in page.text
    amended = post_form(secretary, f"{PAGE}/{m.id}/minutes",
                        {"minutes_zh": "一、通报理赔情况（已修订）。", "minutes_en": "1. Claims (amended)."},
                        from_page=f"{PAGE}/{m.id}")
    assert amended.status_code == 303
    db.rollback()
    db.expire_all()  # the page committed in its own session
    stored = db.get(Meeting, m.id)
    assert stored.minutes_zh == "一、通报理赔情况（已修订）。" and stored.minutes_published_at
    listed = secretary.get(PAGE)
    assert "已发布" in listed.text


@pytest.mark.parametrize("fields,words", [
    ({"minutes_zh": "纪要", "minutes_en": ""}, "英文会议纪要"),
    ({"minutes_zh": " ", "minutes_en": "Minutes"}, "中文会议纪要"),
    ({"minutes_zh": "纪" * 20_001, "minutes_en": "Minutes"}, "20000"),
])
def test_refused_minutes_are_named_and_nothing_is_stored(db, secretary, setting, fields, words):
    m = setting["meeting"]
    refused = post_form(secretary, f"{PAGE}/{m.id}/minutes", fields, from_page=f"{PAGE}/{m.id}")
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text and words in refused.text
    db.rollback()
    db.expire_all()
    assert db.get(Meeting, m.id).minutes_published_at is None


def test_feedback_raised_at_the_meeting_with_its_answer(db, secretary, setting):
    m = setting["meeting"]
    item = meetings.raise_feedback(db, text="希望增加夜间客服", actor=SYSTEM, meeting_id=m.id)
    meetings.update_feedback(db, item_id=item.id, actor=SYSTEM, owner="客服部",
                             response="下月起开通夜间热线", status="answered")
    meetings.raise_feedback(db, text="别处的意见", actor=SYSTEM)
    db.commit()
    page = secretary.get(f"{PAGE}/{m.id}")
    assert "希望增加夜间客服" in page.text and "下月起开通夜间热线" in page.text
    assert "别处的意见" not in page.text
    assert 'href="/staff/governance/feedback"' in page.text


def test_the_pages_read_in_english(db, secretary, setting):
    m = setting["meeting"]
    post_form(secretary, "/language", {"locale": "en", "next": PAGE}, from_page=PAGE)
    assert "Member meetings" in secretary.get(PAGE).text
    page = secretary.get(f"{PAGE}/{m.id}")
    assert "First-quarter members&#39; meeting" in page.text
    assert "Registered members and attendance" in page.text
    refused = post_form(secretary, f"{PAGE}/{m.id}/attendance", {"numbers": "M999999999"},
                        from_page=f"{PAGE}/{m.id}")
    assert "M999999999: is not a member number" in refused.text


def test_an_unknown_meeting_is_not_found(secretary, setting):
    assert secretary.get(f"{PAGE}/999999").status_code == 404


@pytest.mark.parametrize("role", [Role.FINANCE, Role.CLAIMS])
def test_other_roles_are_refused(client, staff_user, setting, role):
    sign_in(client, staff_user(role))
    m = setting["meeting"]
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}/{m.id}").status_code == 403
    refused = post_form(client, f"{PAGE}/{m.id}/attendance",
                        {"numbers": setting["members"][0].member_number}, from_page="/")
    assert refused.status_code == 403


def test_a_member_is_refused_and_signed_out_goes_to_sign_in(client, setting):
    m = setting["meeting"]
    page = client.get(f"{PAGE}/{m.id}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/signin")
    sign_in(client, setting["members"][0].member_number, f.PASSWORD)
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}/{m.id}").status_code == 403


def test_member_numbers_are_read_one_a_line():
    assert member_numbers("M000000001\n m000000002 ,M000000003，M000000004") == [
        "M000000001", "M000000002", "M000000003", "M000000004"]
    assert member_numbers(" \n ") == []
