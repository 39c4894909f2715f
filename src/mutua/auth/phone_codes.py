"""One-time codes that prove a person holds a phone (短信验证码).

A code is six digits from ``secrets``, sent by SMS and kept only as an HMAC under the
server's key (a six-digit code has a million values: a plain or slow hash of it is read back
in seconds, a keyed one is not without the key). It lives ``phone_code_minutes`` (5), takes
``phone_code_attempts`` (5) wrong tries, and is used once: the UPDATE that marks it used
only succeeds while it is unused, so two requests with the same code cannot both pass.

Sending is limited per phone and per client address in the last hour, counted from the
codes' own rows, so the limit holds across every server process and worker, and counted
in the statement that stores the code, under unique numbers, so two requests at the limit
at once cannot both pass (``_store_within_limits``).

>>> len(new_code()), new_code().isdigit()
(6, True)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import Integer, String, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mutua.auth.models import PhoneCode
from mutua.dates import utcnow
from mutua.db import session_factory
from mutua.errors import DomainError, ValidationFailed
from mutua.messaging.sms import SmsFailed

PURPOSES = ("signup", "reset", "signin")  # a reset is also an imported member's first sign-in
CODE_DIGITS = 6


class TooManyCodes(DomainError):
    status_code = 429
    code = "too_many_codes"


class SmsNotSent(DomainError):
    status_code = 503
    code = "sms_not_sent"


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_digest(*, phone: str, purpose: str, code: str, secret: str) -> str:
    """The keyed hash stored for a code: the same code for another phone or purpose differs.

    >>> a = code_digest(phone="+8613800138000", purpose="signup", code="123456", secret="k")
    >>> a == code_digest(phone="+8613800138001", purpose="signup", code="123456", secret="k")
    False
    """
    message = f"mutua.phone_code\x00{purpose}\x00{phone}\x00{code}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def send(db: Session, *, phone: str, purpose: str, text: str, settings, sender,
         client: str | None = None) -> None:
    """Make a code for ``phone``, store its hash and send ``text`` with ``{code}`` filled in.

    Refused with 429 (and nothing stored or sent) past the hourly limits; 503 when the SMS
    could not be sent (the caller's transaction rolls the code back).
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    code = new_code()
    client = (client or None) and client[:64]
    for _ in range(STORE_TRIES):
        if _store_within_limits(db, phone=phone, purpose=purpose, client=client,
                                code_hash=code_digest(phone=phone, purpose=purpose, code=code,
                                                      secret=settings.secret_key),
                                settings=settings):
            break
        # Not stored: either a limit is reached (refused here, saying which) or a request
        # beside this one took the same number first; the next try counts its code too.
        _refuse_if_flooded(db, phone=phone, client=client, settings=settings)
    else:
        raise TooManyCodes("too many codes were asked for at once; try again in a minute")
    try:
        sender.send(phone, text.format(code=code, minutes=settings.phone_code_minutes))
    except SmsFailed:
        raise SmsNotSent("the SMS could not be sent; try again in a minute") from None


# Tries to store a code when requests beside this one keep taking the same number.
STORE_TRIES = 5


def _store_within_limits(db: Session, *, phone: str, purpose: str, client: str | None,
                         code_hash: str, settings) -> bool:
    """Store the code in one conditional INSERT ... SELECT, only while the phone and the
    address are under their hourly limits; whether it was stored.

    The count and the insert are one statement, and the code takes the next number of its
    phone and of its address under unique keys: two requests that counted the same codes at
    once take the same number, so one stores nothing (ON CONFLICT DO NOTHING; PostgreSQL
    waits for the other to commit first, SQLite runs the writers one at a time) and counts
    again. So the limit holds under concurrency on both databases.
    """
    now = utcnow()
    since = now - timedelta(hours=1)
    codes = PhoneCode.__table__

    def scalar(query):
        return query.correlate(None).scalar_subquery()

    under_limits = [scalar(select(func.count()).where(
        codes.c.phone == phone, codes.c.created_at >= since))
        < settings.phone_codes_per_hour_per_phone]
    client_seq = literal(None, Integer())
    if client:
        under_limits.append(scalar(select(func.count()).where(
            codes.c.client == client, codes.c.created_at >= since))
            < settings.phone_codes_per_hour_per_address)
        client_seq = scalar(select(func.coalesce(func.max(codes.c.client_seq), 0) + 1)
                            .where(codes.c.client == client))
    phone_seq = scalar(select(func.coalesce(func.max(codes.c.phone_seq), 0) + 1)
                       .where(codes.c.phone == phone))
    stamp = codes.c.created_at.type
    row = select(literal(phone, String()), literal(purpose, String()), literal(client, String()),
                 literal(code_hash, String()), literal(now, stamp),
                 literal(now + timedelta(minutes=settings.phone_code_minutes), stamp),
                 literal(0, Integer()), phone_seq, client_seq).where(*under_limits)
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    stored = db.execute(insert(codes).from_select(
        ["phone", "purpose", "client", "code_hash", "created_at", "expires_at", "attempts",
         "phone_seq", "client_seq"], row).on_conflict_do_nothing().returning(codes.c.id))
    return stored.scalar() is not None


def _refuse_if_flooded(db: Session, *, phone: str, client: str | None, settings) -> None:
    since = utcnow() - timedelta(hours=1)
    sent_to_phone = db.scalar(select(func.count()).select_from(PhoneCode).where(
        PhoneCode.phone == phone, PhoneCode.created_at >= since))
    if sent_to_phone >= settings.phone_codes_per_hour_per_phone:
        raise TooManyCodes("too many codes were sent to this phone; wait an hour and try again")
    refuse_if_flooded_from(db, client=client, settings=settings)


def refuse_if_flooded_from(db: Session, *, client: str | None, settings) -> None:
    """429 when this client address asked for too many codes in the last hour."""
    if not client:
        return
    since = utcnow() - timedelta(hours=1)
    sent_from = db.scalar(select(func.count()).select_from(PhoneCode).where(
        PhoneCode.client == client[:64], PhoneCode.created_at >= since))
    if sent_from >= settings.phone_codes_per_hour_per_address:
        raise TooManyCodes("too many codes were asked for from this address; wait an hour "
                           "and try again")


def use(db: Session, *, phone: str, purpose: str, code: str, settings) -> None:
    """Accept ``code`` for ``phone`` once, or refuse it on ``code`` saying why.

    Only the latest code sent to the phone for this purpose counts. A wrong try is counted
    in its own transaction (the caller's rolls back on the refusal); past the limit the code
    is dead even if the next try is right.
    """
    row = db.scalar(select(PhoneCode).where(PhoneCode.phone == phone,
                                            PhoneCode.purpose == purpose)
                    .order_by(PhoneCode.id.desc()).limit(1))
    now = utcnow()
    if row is None:
        raise ValidationFailed("sms_code", "no code was sent to this phone; ask for a code")
    if row.used_at is not None:
        raise ValidationFailed("sms_code", "this code has already been used; ask for a new code")
    if row.expires_at <= now:
        raise ValidationFailed("sms_code", "this code has expired; ask for a new code")
    if row.attempts >= settings.phone_code_attempts:
        raise ValidationFailed("sms_code", "too many wrong codes; ask for a new code")
    typed = "".join(ch for ch in str(code or "") if not ch.isspace())
    expected = code_digest(phone=phone, purpose=purpose, code=typed, secret=settings.secret_key)
    if not hmac.compare_digest(expected, row.code_hash):
        _count_wrong_try(db, row.id)
        raise ValidationFailed("sms_code", "is not the code we sent")
    taken = db.execute(update(PhoneCode).where(PhoneCode.id == row.id,
                                               PhoneCode.used_at.is_(None))
                       .values(used_at=now).execution_options(synchronize_session=False))
    if taken.rowcount != 1:  # another request used it since we read it
        raise ValidationFailed("sms_code", "this code has already been used; ask for a new code")


def _count_wrong_try(db: Session, code_id: int) -> None:
    with session_factory(db.get_bind())() as s:
        s.execute(update(PhoneCode).where(PhoneCode.id == code_id)
                  .values(attempts=PhoneCode.attempts + 1))
        s.commit()
