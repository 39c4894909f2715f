"""What the mutual holds about a member, for them to download (JSON and PDF), and their
request to close the account (issue 19 item 5).

The export is the member's own: their full ID number is in it (it is theirs), and reading
it is audited like every read of health data. Ballots are secret: the export says which
votes the member took part in, never a choice.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth import sessions
from mutua.auth.models import SignInSession, User
from mutua.auth.security import Principal
from mutua.claims.models import OPEN_STATES, Claim, ClaimPayment
from mutua.complaints.models import Complaint
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mutua.governance.models import Elector
from mutua.health.models import Alert, Observation
from mutua.members import accounts
from mutua.members.models import ClosureRequest, Member
from mutua.notify.models import ContactPreference, Notification
from mutua.policies.models import Policy

REASON_LIMIT = 500
ROWS_PER_PART = 10_000  # a member with more of anything than this gets the newest


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(db: Session, columns: list, where, order) -> list[dict]:
    result = db.execute(select(*columns).where(where).order_by(order.desc())
                        .limit(ROWS_PER_PART))
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in result]


def my_data(db: Session, *, actor: Principal) -> dict:
    """Everything held about the signed-in member, part by part."""
    if not actor.is_member:
        raise Forbidden("a member downloads their own data")
    mid = actor.member_id
    member = db.get(Member, mid)
    if member is None:
        raise NotFound("no such member")
    prefs = db.get(ContactPreference, mid)
    out = {
        "exported_at": utcnow().isoformat(),
        "member": {c: _plain(getattr(member, c)) for c in (
            "member_number", "name", "id_number", "birth_date", "sex", "phone",
            "occupation_code", "occupation_class", "city", "status", "joined_at")},
        "contact_preferences": None if prefs is None else {
            "sms": prefs.sms, "email": prefs.email, "email_address": prefs.email_address,
            "locale": prefs.locale},
        "policies": _rows(db, [Policy.policy_number, Policy.status, Policy.enrolled_on,
                               Policy.cover_start, Policy.cover_end, Policy.premium,
                               Policy.refund], Policy.member_id == mid, Policy.id),
        "claims": _rows(db, [Claim.claim_number, Claim.event_type, Claim.event_date,
                             Claim.place, Claim.description, Claim.status, Claim.reported_on,
                             Claim.decided_on, Claim.approved, Claim.paid],
                        Claim.member_id == mid, Claim.id),
        "claim_payments": _rows(db, [ClaimPayment.claim_id, ClaimPayment.amount,
                                     ClaimPayment.paid_on], ClaimPayment.member_id == mid,
                                ClaimPayment.id),
        "health_results": _rows(db, [Observation.kind, Observation.value,
                                     Observation.effective_at, Observation.source],
                                Observation.member_id == mid, Observation.id),
        "health_alerts": _rows(db, [Alert.rule, Alert.severity, Alert.effective_at,
                                    Alert.status], Alert.member_id == mid, Alert.id),
        "votes_taken_part_in": _rows(db, [Elector.proposal_id, Elector.has_voted],
                                     Elector.member_id == mid, Elector.proposal_id),
        "complaints": _rows(db, [Complaint.reference, Complaint.cause, Complaint.text,
                                 Complaint.status, Complaint.received_on, Complaint.answer],
                            Complaint.member_id == mid, Complaint.id),
        "notifications": _rows(db, [Notification.event, Notification.ref_text,
                                    Notification.amount, Notification.created_at,
                                    Notification.read_at], Notification.member_id == mid,
                               Notification.id),
        "sign_in_sessions": _rows(db, [SignInSession.created_at, SignInSession.client,
                                       SignInSession.user_agent, SignInSession.ended_at],
                                  SignInSession.user_id == select(User.id).where(
                                      User.member_id == mid).scalar_subquery(),
                                  SignInSession.created_at),
        "closure_requests": _rows(db, [ClosureRequest.status, ClosureRequest.reason,
                                       ClosureRequest.requested_at, ClosureRequest.handled_at],
                                  ClosureRequest.member_id == mid, ClosureRequest.id),
    }
    audit.record(db, actor=actor, action="member.data_export", entity="member", entity_id=mid,
                 detail={part: len(rows) for part, rows in out.items()
                         if isinstance(rows, list)})
    return out


def request_closure(db: Session, *, actor: Principal, reason: str = "") -> ClosureRequest:
    """The member asks to close the account; one open request at a time."""
    if not actor.is_member:
        raise Forbidden("a member asks to close their own account")
    reason = (reason or "").strip()
    if len(reason) > REASON_LIMIT:
        raise ValidationFailed("reason", "must be at most %(limit)s characters", limit=REASON_LIMIT)
    open_one = db.scalar(select(func.count()).select_from(ClosureRequest).where(
        ClosureRequest.member_id == actor.member_id, ClosureRequest.status == "requested"))
    if open_one:
        raise Conflict("you have asked to close your account already; we are on it")
    row = ClosureRequest(member_id=actor.member_id, reason=reason, status="requested")
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="member.closure_request", entity="member",
                 entity_id=actor.member_id)
    return row


def my_closures(db: Session, *, actor: Principal) -> list[ClosureRequest]:
    return list(db.scalars(select(ClosureRequest).where(
        ClosureRequest.member_id == actor.member_id).order_by(ClosureRequest.id.desc())))


def open_closures(db: Session) -> list[ClosureRequest]:
    return list(db.scalars(select(ClosureRequest).where(ClosureRequest.status == "requested")
                           .order_by(ClosureRequest.id).limit(200)))


def close_account(db: Session, *, request_id: int, actor: Principal) -> ClosureRequest:
    """Close the account asked to be closed: the login is deactivated and its sessions end.
    Refused (409) while a policy is in force or a claim open: those need the account."""
    row = db.get(ClosureRequest, request_id)
    if row is None or row.status != "requested":
        raise NotFound("no such open closure request")
    mid = row.member_id
    today = shanghai_today()
    if db.scalar(select(func.count()).select_from(Policy).where(
            Policy.member_id == mid, Policy.status == "in_force", Policy.cover_end >= today)):
        raise Conflict("the member has a policy in force: cancel it first")
    if db.scalar(select(func.count()).select_from(Claim).where(
            Claim.member_id == mid, Claim.status.in_(OPEN_STATES))):
        raise Conflict("the member has a claim still open")
    user = db.scalar(select(User).where(User.member_id == mid))
    if user is not None:
        accounts.set_active(db, username=user.username, active=False, actor=actor)
        sessions.end_all(db, user_id=user.id)
    db.get(Member, mid).status = "closed"
    row.status, row.handled_at, row.handled_by = "closed", utcnow(), actor.username
    audit.record(db, actor=actor, action="member.close", entity="member", entity_id=mid)
    return row
