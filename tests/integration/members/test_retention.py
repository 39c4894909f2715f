"""Records past their retention are deleted or blanked, set-based, audited, re-runnable.

Periods (privacy/retention.py): closed accounts 10 years after the last policy ended and
answered complaints 5 years after the answer (PRC Insurance Law art. 87), phone codes 30
days after expiry (PIPL art. 19), sessions and failed sign-ins 180 days (Cybersecurity Law
art. 21), delivered notifications 2 years. The purge is run "in the future" by giving it
``now`` and ``today``, so the records need no faked ages except where a row carries one.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from mutua.audit.models import AuditEvent
from mutua.auth.models import LoginAttempt, PhoneCode, SignInSession, User
from mutua.auth.security import SYSTEM
from mutua.catalog.mutual import mutual_project_id
from mutua.complaints import service as complaints
from mutua.complaints.models import Complaint
from mutua.dates import today, utcnow
from mutua.jobs import starts
from mutua.ledger.models import Posting
from mutua.members.models import Member
from mutua.notify.models import ContactPreference, Delivery, Notification
from mutua.policies.models import Policy
from mutua.privacy import retention
from tests import factories as f
from tests.integration.complaints.test_complaints import member_principal
from tests.jobs import finish_jobs

NOW = utcnow()
YEAR = timedelta(days=366)


def count(db, table, *where) -> int:
    return db.scalar(select(func.count()).select_from(table).where(*where))


@pytest.fixture
def world(db):
    """A closed member whose policy ended, a closed member with none, an active member,
    and records of every kind, some old and some new."""
    f.accident_project(db)
    with_policy, without, active = (f.member(db, login=True) for _ in range(3))
    policy = f.policy(db, member=with_policy)
    f.policy(db, member=active)
    db.execute(update(Member).where(Member.id.in_([with_policy.id, without.id]))
               .values(status="closed"))
    db.add(ContactPreference(member_id=without.id, email=True,
                             email_address="someone@example.com"))
    login = f.login_of(db, active)
    old, new = NOW - 200 * timedelta(days=1), NOW
    db.add_all([
        PhoneCode(phone="+8613900000001", purpose="signup", code_hash="0" * 64,
                  created_at=old, expires_at=old + timedelta(minutes=5)),
        PhoneCode(phone="+8613900000001", purpose="signup", code_hash="1" * 64,
                  created_at=new, expires_at=new + timedelta(minutes=5)),
        SignInSession(id="a" * 32, user_id=login.id, created_at=old),
        SignInSession(id="b" * 32, user_id=login.id, created_at=new),
        LoginAttempt(limit_key="addr:10.0.0.1", at=old),
        LoginAttempt(limit_key="addr:10.0.0.1", at=new),
    ])
    mutual = mutual_project_id(db)  # account-wide notices, as notify.tell writes them
    for age_days, status in ((800, "sent"), (800, "pending"), (10, "sent")):
        n = Notification(member_id=active.id, project_id=mutual, event="claim.reported",
                         created_at=NOW - timedelta(days=age_days))
        db.add(n)
        db.flush()
        db.add(Delivery(notification_id=n.id, project_id=mutual, member_id=active.id,
                        channel="sms", status=status))
    me = member_principal(db, active)
    for age_years in (6, 1):
        c = complaints.file(db, actor=me, cause="service", text="电话打不通")
        complaints.answer(db, complaint_id=c.id, text="已改进", actor=SYSTEM)
        c.answered_on = today() - age_years * YEAR
    db.commit()
    return {"with_policy": with_policy.id, "without": without.id, "active": active.id,
            "policy_end": policy.cover_end}


def snapshot(db) -> dict:
    db.rollback()
    return {"members named": count(db, Member, Member.name != retention.CLOSED_NAME),
            "codes": count(db, PhoneCode), "sessions": count(db, SignInSession),
            "attempts": count(db, LoginAttempt), "notifications": count(db, Notification),
            "deliveries": count(db, Delivery),
            "complaint texts": count(db, Complaint, Complaint.text != ""),
            "policies": count(db, Policy), "postings": count(db, Posting),
            "preferences": count(db, ContactPreference)}


def test_a_dry_run_counts_and_changes_nothing(db, world):
    before = snapshot(db)
    result = retention.purge(db, actor=SYSTEM, dry_run=True, now=NOW)
    assert result["counts"] == {"closed_accounts": 1, "answered_complaints": 1,
                                "expired_phone_codes": 1, "sessions": 1, "failed_sign_ins": 1,
                                "delivered_notifications": 1}
    db.commit()
    assert snapshot(db) == before


def test_the_purge_does_what_the_dry_run_said_then_nothing_on_a_second_run(db, world):
    before = snapshot(db)
    counted = retention.purge(db, actor=SYSTEM, dry_run=True, now=NOW)["counts"]
    done = retention.purge(db, actor=SYSTEM, now=NOW)["counts"]
    db.commit()
    assert done == counted
    after = snapshot(db)
    assert after == {**before, "members named": before["members named"] - 1,
                     "codes": before["codes"] - 1, "sessions": before["sessions"] - 1,
                     "attempts": before["attempts"] - 1,
                     "notifications": before["notifications"] - 1,
                     "deliveries": before["deliveries"] - 1,
                     "complaint texts": before["complaint texts"] - 1,
                     "preferences": before["preferences"] - 1}
    # the member with no policy is blanked, their login renamed and locked
    gone = db.get(Member, world["without"])
    assert (gone.name, gone.phone, gone.city) == (retention.CLOSED_NAME, "", "")
    assert gone.id_number == f"X{gone.id}"
    login = db.scalar(select(User).where(User.member_id == gone.id))
    assert login.username == f"closed-{gone.id}" and not login.active
    # the pending notification is kept whatever its age
    assert count(db, Delivery, Delivery.status == "pending") == 1
    again = retention.purge(db, actor=SYSTEM, now=NOW)["counts"]
    assert set(again.values()) == {0}
    db.commit()
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.purge")).all()
    assert [e.detail["closed_accounts"] for e in events] == [1, 0]


def test_a_closed_account_is_kept_ten_years_after_its_last_policy(db, world):
    end = world["policy_end"]
    inside = retention.purge(db, actor=SYSTEM, now=NOW,
                             today=end.replace(year=end.year + 10))
    assert inside["counts"]["closed_accounts"] == 1  # only the member without a policy
    assert db.get(Member, world["with_policy"]).name != retention.CLOSED_NAME
    after = retention.purge(db, actor=SYSTEM, now=NOW,
                            today=end.replace(year=end.year + 10) + timedelta(days=1))
    assert after["counts"]["closed_accounts"] == 1
    db.expire_all()
    assert db.get(Member, world["with_policy"]).name == retention.CLOSED_NAME
    assert db.get(Member, world["active"]).name != retention.CLOSED_NAME


def test_chunks_of_any_size_purge_everything(db, world, monkeypatch):
    db.add_all([PhoneCode(phone=f"+86139000001{k:02d}", purpose="signup", code_hash="2" * 64,
                          created_at=NOW - YEAR, expires_at=NOW - YEAR) for k in range(7)])
    db.commit()
    monkeypatch.setattr(retention, "CHUNK", 2)
    assert retention.purge(db, actor=SYSTEM, now=NOW)["counts"]["expired_phone_codes"] == 8


def test_the_purge_runs_as_a_job_and_from_the_cli(engine, db, world, cli):
    dry = cli("privacy", "purge", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["counts"]["sessions"] == 1
    assert count(db, SignInSession) == 2
    starts.privacy_purge(db, actor=SYSTEM)
    db.commit()
    finish_jobs(engine)
    db.rollback()
    assert count(db, SignInSession) == 1
    done = cli("privacy", "purge", "--json")
    assert done.exit_code == 0, done.output
    assert set(json.loads(done.stdout)["counts"].values()) == {0}
