"""Writing notifications (the outbox), the member's inbox, and how members want to be told.

Every event's service makes one call here, in its own transaction, so the notification
commits or rolls back with the event. One member: :func:`tell`. Many at once (a payment
batch, a close's statements, a vote's electorate, a lab file's alerts): one
``INSERT ... SELECT`` (:func:`tell_from_select`) or one bulk write of columns
(:func:`tell_members`), never a loop of rows. Delivery by SMS and e-mail is later and
apart (notify/delivery.py). Design: docs/notifications.md.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    String,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.mutual import mutual_project_id
from mutua.dates import utcnow
from mutua.db import copy_rows
from mutua.errors import ValidationFailed
from mutua.notify.models import ContactPreference, Notification

# The events members hear about; the words of each are in web/notices.py.
EVENTS = ("claim.reported", "claim.documents", "claim.decided", "claim.paid",
          "statement.published", "vote.opened", "vote.closing", "vote.result", "health.alert",
          "complaint.answered", "account.ready", "premium.due", "premium.reminder",
          "premium.lapsed", "renewal.offered", "cover.ending")
COLUMNS = ["project_id", "member_id", "event", "ref_id", "ref_text", "amount", "created_at"]
INBOX_PAGE = 50
LOCALES = ("zh_CN", "en")


def _check(event: str) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")


def tell(db: Session, *, member_id: int, project_id: int | None, event: str,
         ref_id: int | None = None, ref_text: str = "", amount: Decimal | None = None) -> None:
    """One member is told of one event (written now, delivered by the outbox worker);
    ``project_id`` None: the event belongs to the whole mutual (an account notice)."""
    _check(event)
    project_id = mutual_project_id(db) if project_id is None else project_id
    db.add(Notification(member_id=member_id, project_id=project_id, event=event, ref_id=ref_id,
                        ref_text=ref_text[:200], amount=amount, created_at=utcnow()))


def tell_from_select(db: Session, *, event: str, rows, once: bool = False) -> int:
    """Many members told in one ``INSERT ... SELECT``.

    ``rows`` selects (project_id, member_id, ref_id, ref_text, amount in fen), project_id
    NULL for the whole mutual (a mutual-wide vote); with ``once`` a member already told of
    this event about the same ref_id is left out (a reminder, a statement published again).
    Returns how many were told.
    """
    _check(event)
    sub = rows.subquery()
    project_id, member_id, ref_id, ref_text, amount = sub.c
    project = func.coalesce(project_id, literal(mutual_project_id(db)))
    chosen = select(project, member_id, literal(event, String()), ref_id, ref_text, amount,
                    literal(utcnow(), Notification.created_at.type))
    if once:
        told = aliased(Notification)
        chosen = chosen.where(~exists().where(told.event == event, told.ref_id == ref_id,
                                              told.member_id == member_id))
    # SQLAlchemy keeps an INSERT's row count only when asked to
    return db.execute(insert(Notification).from_select(COLUMNS, chosen),
                      execution_options={"preserve_rowcount": True}).rowcount


def tell_members(db: Session, *, event: str, member_ids, project_ids=None,
                 ref_id: int | None = None, ref_text: str = "") -> int:
    """Many members told of one event, from columns (numpy arrays or lists) in one bulk
    write; ``project_ids`` the same length, with None where the event is mutual-wide."""
    _check(event)
    members = [int(m) for m in member_ids]
    mutual = mutual_project_id(db)
    projects = [mutual] * len(members) if project_ids is None else [
        mutual if p is None or p != p else int(p) for p in project_ids]  # p != p: NaN
    return copy_rows(db, Notification.__tablename__, ["project_id", "member_id"],
                     zip(projects, members, strict=True),
                     same={"event": event, "ref_id": ref_id, "ref_text": ref_text[:200],
                           "amount": None, "created_at": utcnow()})


def keep_unsent(db: Session) -> int:
    """Keep every notification written so far in the inboxes without sending it: a demo's
    years of history are read in the portal, not texted to the console all at once."""
    done = db.execute(update(Notification).where(Notification.dispatched_at.is_(None))
                      .values(dispatched_at=utcnow())
                      .execution_options(synchronize_session=False))
    return done.rowcount or 0


# --- the inbox ----------------------------------------------------------------------------

def unread_count(db: Session, *, member_id: int) -> int:
    return db.scalar(select(func.count()).select_from(Notification).where(
        Notification.member_id == member_id, Notification.read_at.is_(None))) or 0


def inbox(db: Session, *, member_id: int, limit: int = INBOX_PAGE, offset: int = 0
          ) -> list[Notification]:
    return list(db.scalars(select(Notification).where(Notification.member_id == member_id)
                           .order_by(Notification.id.desc()).limit(limit).offset(offset)))


def mark_read(db: Session, *, member_id: int, up_to_id: int | None = None) -> int:
    """Mark the member's notifications read (up to an id: those shown on the page)."""
    where = [Notification.member_id == member_id, Notification.read_at.is_(None)]
    if up_to_id is not None:
        where.append(Notification.id <= up_to_id)
    done = db.execute(update(Notification).where(*where).values(read_at=utcnow())
                      .execution_options(synchronize_session=False))
    return done.rowcount or 0


# --- preferences --------------------------------------------------------------------------

def preferences(db: Session, *, member_id: int | None) -> ContactPreference:
    """The member's choices, or the defaults (inbox and SMS, in Chinese) if never set, or
    if there is no member (an administrator on a member's page, who may look, not save)."""
    chosen = db.get(ContactPreference, member_id) if member_id is not None else None
    return chosen or ContactPreference(member_id=member_id, sms=True, email=False,
                                       email_address=None, locale="zh_CN")


def set_preferences(db: Session, *, member_id: int, sms: bool, email: bool,
                    email_address: str | None, locale: str, actor: Principal
                    ) -> ContactPreference:
    address = (email_address or "").strip() or None
    if locale not in LOCALES:
        raise ValidationFailed("locale", "must be zh_CN or en")
    if address is not None and not _looks_like_email(address):
        raise ValidationFailed("email_address", "is not an e-mail address")
    if email and address is None:
        raise ValidationFailed("email_address", "is required to be told by e-mail")
    row = db.get(ContactPreference, member_id)
    if row is None:
        row = ContactPreference(member_id=member_id)
        db.add(row)
    row.sms, row.email, row.email_address, row.locale = sms, email, address, locale
    row.updated_at = utcnow()
    audit.record(db, actor=actor, action="member.contact_preferences", entity="member",
                 entity_id=member_id, detail={"sms": sms, "email": email, "locale": locale})
    return row


def _looks_like_email(text: str) -> bool:
    """A plain check (one @, a dot in the domain, no spaces, at most 120 characters).

    >>> _looks_like_email("li.lei@example.cn"), _looks_like_email("li lei@example")
    (True, False)
    """
    local, at, domain = text.rpartition("@")
    return (bool(at) and bool(local) and "." in domain.strip(".") and " " not in text
            and len(text) <= 120 and "@" not in local)

