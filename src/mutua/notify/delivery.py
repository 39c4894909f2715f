"""Delivering the outbox: each notification to the member's phone and e-mail, with retries
and a record of every delivery.

A round (``deliver_round``), run by the worker every minute and by ``mutua notify
deliver``:

1. dispatch: the notifications not yet dispatched become delivery rows, one per channel
   the member chose (SMS unless they turned it off, e-mail if they gave an address and
   asked for it), in two ``INSERT ... SELECT`` statements and one UPDATE, whatever their
   number (a close writes one per member of a pool);
2. send: deliveries that are due are each claimed with one UPDATE (so two workers never
   send the same one), sent in the member's language, and marked sent, or due again later
   (1, 5, 30 minutes, 2 hours), or failed after ``notify_max_attempts`` or a refusal that
   retrying cannot mend. A claimed delivery whose worker died is due again after
   ``LEASE`` (at least once: a crash between sending and recording can send it twice).

The inbox needs no delivery: the notification row is the inbox line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, func, insert, literal, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mutua.dates import utcnow
from mutua.db import unit_of_work
from mutua.hooks import Reader
from mutua.members.models import Member
from mutua.messaging.channel import SendFailed
from mutua.messaging.email import EmailFailed, email_sender, mask_email
from mutua.messaging.sms import mask_phone, sms_sender
from mutua.notify.models import ContactPreference, Delivery, Notification

log = logging.getLogger(__name__)

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
           timedelta(hours=2))
LEASE = timedelta(minutes=5)
SMS_BRAND = "【互助社】"
# (event, *, ref_text, amount, locale) -> (subject, text) in the member's language: the
# notices' words are translated in the pages' catalogs (web.notices.words, joined in
# mutua/wiring.py), so the inbox and the SMS say the same.
notice_words = Reader("a notice's words in a language")


def next_try(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try.

    >>> [int(next_try(n).total_seconds() // 60) for n in (1, 2, 3, 4, 9)]
    [1, 5, 30, 120, 120]
    """
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


@dataclass
class Senders:
    sms: object
    email: object

    @classmethod
    def from_settings(cls, settings) -> Senders:
        return cls(sms=sms_sender(settings), email=email_sender(settings))


@dataclass
class Round:
    dispatched: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    reminders: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"dispatched": self.dispatched, "sent": self.sent, "retrying": self.retrying,
                "failed": self.failed, "reminders": self.reminders}


def dispatch(db: Session, *, now: datetime | None = None) -> int:
    """Turn every notification not yet dispatched into its deliveries (set-based)."""
    now = now or utcnow()
    last = db.scalar(select(func.max(Notification.id)).where(Notification.dispatched_at.is_(None)))
    if last is None:
        return 0
    waiting = [Notification.dispatched_at.is_(None), Notification.id <= last]
    pref = ContactPreference
    channels = {"sms": func.coalesce(pref.sms, True).is_(True),
                "email": (pref.email.is_(True)) & pref.email_address.is_not(None)}
    for channel, chosen in channels.items():
        db.execute(insert(Delivery).from_select(
            ["notification_id", "project_id", "member_id", "channel", "status", "attempts",
             "next_attempt_at"],
            select(Notification.id, Notification.project_id, Notification.member_id,
                   literal(channel, String()), literal("pending", String()), literal(0),
                   literal(now, Delivery.next_attempt_at.type))
            .outerjoin(pref, pref.member_id == Notification.member_id)
            .where(*waiting, chosen)))
    done = db.execute(update(Notification).where(*waiting).values(dispatched_at=now)
                      .execution_options(synchronize_session=False))
    return done.rowcount or 0


def due(db: Session, *, now: datetime, limit: int) -> list[int]:
    return list(db.scalars(select(Delivery.id).where(Delivery.status == "pending",
                                                     Delivery.next_attempt_at <= now)
                           .order_by(Delivery.id).limit(limit)))


def _claim(engine: Engine, delivery_id: int, now: datetime) -> bool:
    with unit_of_work(engine) as db:
        taken = db.execute(update(Delivery).where(Delivery.id == delivery_id,
                                                  Delivery.status == "pending",
                                                  Delivery.next_attempt_at <= now)
                           .values(attempts=Delivery.attempts + 1,
                                   next_attempt_at=now + LEASE)
                           .execution_options(synchronize_session=False))
        return taken.rowcount == 1


def _what(db: Session, delivery_id: int):
    return db.execute(
        select(Delivery.channel, Delivery.attempts, Notification.event, Notification.ref_text,
               Notification.amount, Member.phone, ContactPreference.email_address,
               func.coalesce(ContactPreference.locale, "zh_CN").label("locale"))
        .join(Notification, (Notification.project_id == Delivery.project_id)  # co-located
              & (Notification.id == Delivery.notification_id))
        .join(Member, Member.id == Delivery.member_id)
        .outerjoin(ContactPreference, ContactPreference.member_id == Delivery.member_id)
        .where(Delivery.id == delivery_id)).one()


def send_one(engine: Engine, delivery_id: int, *, senders: Senders, settings,
             now: datetime) -> str:
    """Claim, send and record one delivery: "sent", "retrying", "failed" or "taken"."""
    if not _claim(engine, delivery_id, now):
        return "taken"
    with unit_of_work(engine) as db:
        w = _what(db, delivery_id)
    subject, text = notice_words(w.event, ref_text=w.ref_text, amount=w.amount,
                                 locale=w.locale)
    try:
        if w.channel == "sms":
            sent_to = mask_phone(w.phone)
            carrier_id = senders.sms.send(w.phone, SMS_BRAND + text)
        else:
            sent_to = mask_email(w.email_address or "")
            if not w.email_address:
                raise EmailFailed("no e-mail address", retry=False)
            carrier_id = senders.email.send(w.email_address, subject, text)
    except SendFailed as exc:
        give_up = not exc.retry or w.attempts >= settings.notify_max_attempts
        _record(engine, delivery_id, status="failed" if give_up else "pending",
                next_at=now + next_try(w.attempts), error=str(exc)[:200], sent_to=sent_to)
        log.warning("delivery %s by %s to %s failed: %s", delivery_id, w.channel, sent_to, exc)
        return "failed" if give_up else "retrying"
    _record(engine, delivery_id, status="sent", sent_at=utcnow(), carrier_id=carrier_id[:80],
            sent_to=sent_to, error="")
    return "sent"


def _record(engine: Engine, delivery_id: int, *, status: str, sent_to: str, error: str,
            next_at: datetime | None = None, sent_at: datetime | None = None,
            carrier_id: str = "") -> None:
    values = {"status": status, "sent_to": sent_to, "last_error": error}
    if next_at is not None:
        values["next_attempt_at"] = next_at
    if sent_at is not None:
        values |= {"sent_at": sent_at, "carrier_id": carrier_id}
    with unit_of_work(engine) as db:
        db.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values)
                   .execution_options(synchronize_session=False))


# Writes the reminders due at ``now`` into the outbox and says how many events it reminded
# of (e.g. governance.notices.remind_closing_votes); the domains that own them pass them in.
Reminder = Callable[..., int]


def deliver_round(engine: Engine, *, settings, senders: Senders | None = None,
                  now: datetime | None = None, reminders: Sequence[Reminder] = ()) -> Round:
    """Write the reminders due, dispatch the outbox, and send what is due (at most
    ``notify_batch`` deliveries)."""
    now = now or utcnow()
    senders = senders or Senders.from_settings(settings)
    out = Round()
    with unit_of_work(engine) as db:
        out.reminders = sum(remind(db, now=now) for remind in reminders)
        out.dispatched = dispatch(db, now=now)
    with unit_of_work(engine) as db:
        ids = due(db, now=now, limit=settings.notify_batch)
    for delivery_id in ids:
        state = send_one(engine, delivery_id, senders=senders, settings=settings, now=now)
        if state in ("sent", "retrying", "failed"):
            setattr(out, state, getattr(out, state) + 1)
    return out
