"""Consultation meetings, feedback through to done, and service ratings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from mutua.claims.models import Claim
from mutua.errors import Conflict, NotFound, ValidationFailed
from mutua.governance import meetings, ratings
from mutua.governance.models import FeedbackItem
from tests import factories
from tests.integration.governance.helpers import SECRETARY, as_member, pool

STARTS = datetime(2026, 7, 10, 6, tzinfo=UTC)


def _meeting(db, project_id, **kw):
    args = dict(project_id=project_id, title_zh="会员恳谈会", title_en="Consultation meeting",
                mode="online", place="https://meet.example/abc", starts_at=STARTS,
                actor=SECRETARY)
    args.update(kw)
    return meetings.schedule_meeting(db, **args)


def test_meeting_registration_attendance_minutes_and_feedback_to_done(db):
    product, _, people = pool(db)
    m = _meeting(db, product.project_id, capacity=3)
    for person in people[:3]:
        meetings.register(db, meeting_id=m.id, actor=as_member(person))
    with pytest.raises(Conflict, match="already registered"):
        meetings.register(db, meeting_id=m.id, actor=as_member(people[0]))
    with pytest.raises(Conflict, match="full"):
        meetings.register(db, meeting_id=m.id, actor=as_member(people[3]))
    assert meetings.record_attendance(db, meeting_id=m.id, member_ids=[people[0].id,
                                      people[1].id, people[3].id], actor=SECRETARY) == 2
    meetings.publish_minutes(db, meeting_id=m.id, minutes_zh="纪要", minutes_en="Minutes",
                             actor=SECRETARY)
    item = meetings.raise_feedback(db, text="理赔材料太多", meeting_id=m.id,
                                   actor=as_member(people[0]))
    assert item.project_id == product.project_id and item.status == "open"
    with pytest.raises(ValidationFailed, match="owner"):
        meetings.update_feedback(db, item_id=item.id, status="in_progress", actor=SECRETARY)
    meetings.update_feedback(db, item_id=item.id, owner="claims-team", status="in_progress",
                             actor=SECRETARY)
    with pytest.raises(ValidationFailed, match="response"):
        meetings.update_feedback(db, item_id=item.id, status="done", actor=SECRETARY)
    meetings.update_feedback(db, item_id=item.id, response="材料清单已精简", status="answered",
                             actor=SECRETARY)
    meetings.update_feedback(db, item_id=item.id, status="done", actor=SECRETARY)
    with pytest.raises(Conflict, match="forward"):
        meetings.update_feedback(db, item_id=item.id, status="open", actor=SECRETARY)
    seen, total = meetings.list_feedback(db, actor=as_member(people[2]))
    assert total == 1 and seen[0].status == "done"


def test_members_outside_the_scope_do_not_see_the_meeting(db):
    product, _, _ = pool(db)
    m = _meeting(db, product.project_id)
    outsider = factories.member(db)
    with pytest.raises(NotFound):
        meetings.register(db, meeting_id=m.id, actor=as_member(outsider))
    assert meetings.list_meetings(db, actor=as_member(outsider))[1] == 0
    wide = _meeting(db, None, mode="in_person", place="深圳市福田区")
    assert meetings.register(db, meeting_id=wide.id, actor=as_member(outsider))


def test_bad_meeting_is_refused(db):
    with pytest.raises(ValidationFailed) as err:
        _meeting(db, None, mode="phone", title_en="", capacity=0)
    assert {p.field for p in err.value.problems} == {"mode", "title_en", "capacity"}


def _closed_claim(db, policy, status="closed"):
    claim = Claim(claim_number=f"R{policy.id:06d}", project_id=policy.project_id,
                  policy_id=policy.id, member_id=policy.member_id, event_type="accident",
                  event_date=date(2026, 7, 1), reported_on=date(2026, 7, 2), status=status,
                  approved=Decimal("500"), paid=Decimal("500"))
    db.add(claim)
    db.flush()
    return claim


def test_rating_once_per_service_and_low_scores_open_a_follow_up(db):
    product, _, people = pool(db)
    me = as_member(people[0])
    from mutua.policies.models import Policy

    pol = db.scalar(select(Policy).where(Policy.member_id == people[0].id))
    r = ratings.rate(db, service_kind="enrolment", service_ref=pol.id, score=2,
                     comment="网页太慢", actor=me, on=date(2026, 7, 1))
    assert r.team == "enrolment" and r.month == "2026-07"
    follow = db.scalar(select(FeedbackItem).where(FeedbackItem.rating_id == r.id))
    assert follow.source == "rating" and follow.owner == "enrolment" and follow.status == "open"
    with pytest.raises(Conflict, match="already been rated"):
        ratings.rate(db, service_kind="enrolment", service_ref=pol.id, score=5, actor=me)
    claim = _closed_claim(db, pol)
    ratings.rate(db, service_kind="claim", service_ref=claim.id, score=5, actor=me,
                 on=date(2026, 8, 3))
    summary = ratings.summary(db, project_id=product.project_id)
    assert {(s["service"], s["count"], s["average"], s["low_scores"]) for s in summary} == {
        ("claim", 1, 5.0, 0), ("enrolment", 1, 2.0, 1)}
    trend = ratings.summary(db, by_month=True)
    assert {s["month"] for s in trend} == {"2026-07", "2026-08"}


@pytest.mark.parametrize("score", [0, 6, "x", 4.5])
def test_scores_outside_1_to_5_are_refused(db, score):
    _, _, people = pool(db)
    from mutua.policies.models import Policy

    pol = db.scalar(select(Policy).where(Policy.member_id == people[0].id))
    with pytest.raises(ValidationFailed) as err:
        ratings.rate(db, service_kind="enrolment", service_ref=pol.id, score=score,
                     actor=as_member(people[0]))
    assert err.value.problems[0].field == "score"


def test_only_ones_own_completed_services_can_be_rated(db):
    _, _, people = pool(db)
    from mutua.policies.models import Policy

    pol = db.scalar(select(Policy).where(Policy.member_id == people[0].id))
    with pytest.raises(NotFound):
        ratings.rate(db, service_kind="enrolment", service_ref=pol.id, score=4,
                     actor=as_member(people[1]))
    open_claim = _closed_claim(db, pol, status="under_review")
    with pytest.raises(Conflict, match="not closed"):
        ratings.rate(db, service_kind="claim", service_ref=open_claim.id, score=4,
                     actor=as_member(people[0]))
    with pytest.raises(ValidationFailed):
        ratings.rate(db, service_kind="haircut", service_ref=1, score=4,
                     actor=as_member(people[0]))


def test_attendance_through_the_api_follows_the_secretarys_page_rules(client, db):
    from mutua.auth.roles import Role
    from mutua.governance.models import MeetingRegistration

    product, _, people = pool(db)
    past = _meeting(db, product.project_id, starts_at=datetime(2025, 1, 10, 6, tzinfo=UTC))
    future = _meeting(db, product.project_id, starts_at=datetime(2099, 1, 10, 6, tzinfo=UTC))
    for m in (past, future):
        meetings.register(db, meeting_id=m.id, actor=as_member(people[0]))
    db.commit()
    h = factories.staff_headers(client, db, Role.SECRETARY)
    url = "/api/v1/governance/meetings/{}/attendance"
    early = client.post(url.format(future.id), json={"member_ids": [people[0].id]}, headers=h)
    assert early.status_code == 409
    unknown = client.post(url.format(past.id), json={"member_numbers": ["M999999999"]}, headers=h)
    assert unknown.status_code == 422 and "M999999999" in unknown.json()["problems"][0]["field"]
    assert not db.scalars(select(MeetingRegistration.member_id).where(
        MeetingRegistration.attended.is_(True))).all()
    ok = client.post(url.format(past.id), headers=h, json={
        "member_ids": [people[0].id], "member_numbers": [people[1].member_number]})
    assert ok.status_code == 200 and ok.json()["attended"] == 2  # one walk-in
