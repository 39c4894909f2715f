"""Logins for a whole imported group in one set-based step (issue 19 item 2).

A group file of a million members cannot wait for a million Argon2 hashes (a tenth of a
second each: a day of CPU), and nobody should choose their password for them. So each login
is created without a password (``NO_PASSWORD``, a value no password verifies against) by
``INSERT ... SELECT`` from the members, and each member is told by SMS that their account is
ready (a notification, written by ``INSERT ... SELECT`` too and sent by the outbox worker).
The member then signs in the first time at /reset with their phone or member number: a code
sent to their own phone on demand (auth/phone_codes.py) proves it is them, and they choose
their password. No code is made before it is asked for, so none waits in a table or a
message queue in clear.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, Integer, String, exists, func, insert, literal, select
from sqlalchemy.orm import Session, aliased

from mutua.auth.models import User
from mutua.auth.roles import Role
from mutua.dates import utcnow
from mutua.db import one_of
from mutua.members.models import Member
from mutua.notify import service as notify

# Not an Argon2 hash: verify_password answers False for it, whatever is typed.
NO_PASSWORD = "!first-sign-in"


def _chunk_size(db: Session) -> int:
    # SQLite binds each value (at most 32,766 of them); PostgreSQL one array parameter.
    return 30_000 if db.get_bind().dialect.name == "sqlite" else 200_000


def open_logins(db: Session, *, member_ids: Sequence[int] | None = None,
                project_id: int | None = None) -> int:
    """A login for every member named (or every member) who has none yet; each is told by
    SMS to sign in with a code. Returns how many logins were created."""
    if member_ids is None:
        return _open(db, None, project_id)
    ids = sorted(set(int(i) for i in member_ids))
    size = _chunk_size(db)
    return sum(_open(db, ids[start:start + size], project_id)
               for start in range(0, len(ids), size))


def _open(db: Session, chunk: list[int] | None, project_id: int | None) -> int:
    now = utcnow()
    before = db.scalar(select(func.count()).select_from(User)) or 0
    has_login = aliased(User)
    members = select(Member.member_number, Member.name, literal(NO_PASSWORD, String()),
                     literal(Role.MEMBER.value, String()), Member.id, literal(True),
                     literal(now, User.created_at.type)).where(
        ~exists().where(has_login.member_id == Member.id))
    if chunk is not None:
        members = members.where(one_of(db, Member.id, chunk))
    db.execute(insert(User).from_select(
        ["username", "display_name", "password_hash", "role", "member_id", "active",
         "created_at"], members))
    created = (db.scalar(select(func.count()).select_from(User)) or 0) - before
    if created:
        opened = select(literal(project_id, Integer()), User.member_id,
                        literal(None, BigInteger()), User.username,
                        literal(None, BigInteger())).where(
            User.password_hash == NO_PASSWORD, User.created_at == now)
        if chunk is not None:
            opened = opened.where(one_of(db, User.member_id, chunk))
        notify.tell_from_select(db, event="account.ready", rows=opened)
    return created
