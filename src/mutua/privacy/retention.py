"""Deleting what the mutual no longer needs to keep (保存期限), record type by record type.

Each rule says how long a kind of record is kept and why; the purge finds what is past it
with one statement per chunk of ``CHUNK`` rows (``... WHERE id IN (SELECT id ... LIMIT n)``)
and deletes it, or, where the record must still be counted, blanks what identifies a person.
A second run finds nothing left to do; a dry run only counts. Each run is audited with its
counts (``privacy.purge``). It never touches the ledger, policies or claims, which the
insurance rules keep (below) and which the other records here do not replace.

The periods, and where they come from:

- **Closed accounts, 10 years after the member's last policy ended.** PRC Insurance Law
  (保险法, 2015) art. 87: an insurer keeps its books, vouchers and records for at least 5
  years from the end of a contract of one year or less, and at least 10 years from the end
  of a longer one. The longer period is used for every member (it is never too short), and
  only for an account that is closed with no claim open. The member row stays (policies,
  claims and the ledger point at it): their name, ID number, phone and city are blanked,
  their login is renamed and locked, and their contact preferences (an e-mail address) go.
- **Answered complaints, 5 years after the answer.** The same article's minimum for the
  mutual's one-year products, whose disputes the complaints are: the complaint's words and
  the answer are blanked; its reference, cause, dates and status stay, so the counts by
  cause per quarter still add up.
- **Phone codes, 30 days after they expired.** A code proves a phone once and counts
  against the hourly sending limits; a month is kept to look into a flood or a dispute.
  Personal Information Protection Law (个人信息保护法) art. 19: personal information is kept
  no longer than its purpose needs.
- **Sign-in sessions and failed sign-ins, 180 days.** Cybersecurity Law (网络安全法) art. 21
  (3): network logs are kept for no less than six months; not longer (PIPL art. 19).
- **Delivered notifications, 2 years.** The member's inbox and the record of each SMS or
  e-mail sent; the facts they told (a claim decided, a quarter closed) are kept in their own
  records. One still being delivered (a delivery pending) is kept whatever its age.

The audit log (``audit_events``) has no rule here, on purpose: the purge never deletes it.
It is the trail of the records art. 87 makes the insurer keep for at least 10 years from
the end of a contract, and an event does not say when the contract it touched ends (a
renewal or a late claim keeps it open), so no age of the event alone is safe to purge at;
the law gives a minimum, not a maximum, and it holds no personal data to minimise under
PIPL art. 19 (ids, codes and amounts only: audit/models.py). It is also append-only by
design: the application's database role may only insert into it. Its size is handled by
archiving instead: on PostgreSQL it is partitioned by month (audit/partitions.py) and
``mutua privacy archive-audit-year YEAR`` detaches a closed year's partitions in one
statement each; the operator dumps them and drops them once the mutual decides the year
is past every record it evidences (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import String, cast, delete, exists, func, literal, select, update
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.models import LoginAttempt, PhoneCode, SignInSession, User
from mutua.auth.security import Principal
from mutua.claims.models import OPEN_STATES, Claim
from mutua.complaints.models import Complaint
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.members.models import Member
from mutua.notify.models import ContactPreference, Delivery, Notification
from mutua.policies.first_logins import NO_PASSWORD
from mutua.policies.models import Policy

CHUNK = 10_000  # rows one statement deletes or blanks at most
CLOSED_NAME = "已注销"  # a closed account's name once its retention has passed
CLOSED_LOGIN = "closed-"  # + the member id: the locked login's new name
ANONYMISED_ID = "X"  # + the member id: unique, and never a valid GB 11643 number


@dataclass(frozen=True)
class Rule:
    record: str
    keep: str  # the period, as people say it
    basis: str


RULES = (
    Rule("closed_accounts", "10 years after the last policy ended",
         "PRC Insurance Law art. 87 (5 years for contracts of a year or less, 10 longer)"),
    Rule("answered_complaints", "5 years after the answer",
         "PRC Insurance Law art. 87 (records of one-year contracts, 5 years)"),
    Rule("expired_phone_codes", "30 days after expiry",
         "PIPL art. 19 (no longer than the purpose needs)"),
    Rule("sessions", "180 days", "Cybersecurity Law art. 21 (network logs, six months)"),
    Rule("failed_sign_ins", "180 days", "Cybersecurity Law art. 21 (network logs, six months)"),
    Rule("delivered_notifications", "2 years", "PIPL art. 19 (the facts stay in their records)"),
)


@dataclass(frozen=True)
class Cutoffs:
    """The moments (UTC) and days (Asia/Shanghai) before which each record is past keeping."""

    now: datetime
    today: date

    @property
    def policy_end(self) -> date:
        return _years_before(self.today, 10)

    @property
    def answered(self) -> date:
        return _years_before(self.today, 5)

    @property
    def code_expired(self) -> datetime:
        return self.now - timedelta(days=30)

    @property
    def signed_in(self) -> datetime:
        return self.now - timedelta(days=180)

    @property
    def notified(self) -> datetime:
        return self.now - timedelta(days=730)


def _years_before(day: date, years: int) -> date:
    """>>> _years_before(date(2028, 2, 29), 5)
    datetime.date(2023, 2, 28)
    """
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def purge(db: Session, *, actor: Principal, dry_run: bool = False, now: datetime | None = None,
          today: date | None = None, progress: Callable[..., None] | None = None) -> dict:
    """Delete or blank every record past its retention; what was (or, dry, would be) done,
    by record type."""
    cut = Cutoffs(now=now or utcnow(), today=today or shanghai_today())
    counts = {}
    for step, rule in enumerate(RULES):
        if progress:
            progress(step, len(RULES), "purging")
        counts[rule.record] = (_COUNT if dry_run else _PURGE)[rule.record](db, cut)
    if not dry_run:
        audit.record(db, actor=actor, action="privacy.purge", entity="retention",
                     entity_id=cut.today.isoformat(), detail=counts)
    return {"dry_run": dry_run, "today": cut.today.isoformat(), "counts": counts,
            "rules": [{"record": r.record, "keep": r.keep, "basis": r.basis} for r in RULES]}


# --- what is past keeping, as conditions on each table -------------------------------------

def _closed_past_retention(cut: Cutoffs):
    return [Member.status == "closed", ~Member.id_number.startswith(ANONYMISED_ID),
            ~exists().where(Policy.member_id == Member.id, Policy.cover_end >= cut.policy_end),
            ~exists().where(Claim.member_id == Member.id, Claim.status.in_(OPEN_STATES))]


def _complaints_past(cut: Cutoffs):
    return Complaint, [Complaint.status == "answered", Complaint.answered_on < cut.answered,
                       (Complaint.text != "") | (Complaint.answer != "")]


def _simple(cut: Cutoffs, record: str):
    """(table, conditions) of the records that are deleted outright."""
    if record == "expired_phone_codes":
        return PhoneCode, [PhoneCode.expires_at < cut.code_expired]
    if record == "sessions":
        return SignInSession, [SignInSession.created_at < cut.signed_in]
    if record == "failed_sign_ins":
        return LoginAttempt, [LoginAttempt.at < cut.signed_in]
    return Notification, [Notification.created_at < cut.notified, ~exists().where(
        Delivery.project_id == Notification.project_id,
        Delivery.notification_id == Notification.id, Delivery.status == "pending")]


def _count(db: Session, table, conditions) -> int:
    return db.scalar(select(func.count()).select_from(table).where(*conditions)) or 0


def _chunked(db: Session, table, conditions, act) -> int:
    """Run ``act(ids)`` on chunks of the matching ids until none is left; how many."""
    key = table.__mapper__.primary_key[0]
    done = 0
    while True:
        ids = db.scalars(select(key).where(*conditions).order_by(key).limit(CHUNK)).all()
        if not ids:
            return done
        act(ids)
        done += len(ids)
        if len(ids) < CHUNK:
            return done


def _delete_simple(record: str):
    def run(db: Session, cut: Cutoffs) -> int:
        table, conditions = _simple(cut, record)
        key = table.__mapper__.primary_key[0]

        def act(ids):
            if record == "delivered_notifications":
                db.execute(delete(Delivery).where(Delivery.notification_id.in_(ids)))
            db.execute(delete(table).where(key.in_(ids)))

        return _chunked(db, table, conditions, act)
    return run


def _blank_complaints(db: Session, cut: Cutoffs) -> int:
    table, conditions = _complaints_past(cut)
    return _chunked(db, table, conditions, lambda ids: db.execute(
        update(table).where(table.id.in_(ids)).values(text="", answer="", extension_reason="")
        .execution_options(synchronize_session=False)))


def _anonymise_closed(db: Session, cut: Cutoffs) -> int:
    def act(ids):
        db.execute(update(Member).where(Member.id.in_(ids)).values(
            name=CLOSED_NAME, phone="", city="",
            id_number=literal(ANONYMISED_ID) + cast(Member.id, String))
            .execution_options(synchronize_session=False))
        db.execute(update(User).where(User.member_id.in_(ids)).values(
            username=literal(CLOSED_LOGIN) + cast(User.member_id, String),
            display_name=CLOSED_NAME, password_hash=NO_PASSWORD, active=False)
            .execution_options(synchronize_session=False))
        db.execute(delete(ContactPreference).where(ContactPreference.member_id.in_(ids)))

    return _chunked(db, Member, _closed_past_retention(cut), act)


_PURGE = {"closed_accounts": _anonymise_closed, "answered_complaints": _blank_complaints,
          **{r: _delete_simple(r) for r in ("expired_phone_codes", "sessions",
                                            "failed_sign_ins", "delivered_notifications")}}
_COUNT = {"closed_accounts": lambda db, cut: _count(db, Member, _closed_past_retention(cut)),
          "answered_complaints": lambda db, cut: _count(db, *_complaints_past(cut)),
          **{r: (lambda rec: lambda db, cut: _count(db, *_simple(cut, rec)))(r)
             for r in ("expired_phone_codes", "sessions", "failed_sign_ins",
                       "delivered_notifications")}}
