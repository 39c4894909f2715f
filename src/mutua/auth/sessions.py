"""Signed-in page sessions a person can see and end (where am I signed in?).

Each sign-in on the pages writes a row named by a random id that the signed cookie carries;
``web.session.session_alive`` refuses a cookie whose row was ended. Ending a session (from
another device, or all of them at a password reset) takes effect on its next request.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.models import SignInSession
from mutua.auth.security import Principal
from mutua.dates import utcnow
from mutua.errors import NotFound

MAX_LISTED = 50


def start(db: Session, *, user_id: int, client: str | None, user_agent: str | None) -> str:
    """A new session row for a sign-in; its id goes in the cookie."""
    sid = secrets.token_urlsafe(24)[:32]
    db.add(SignInSession(id=sid, user_id=user_id, client=(client or None) and client[:64],
                         user_agent=(user_agent or "")[:200]))
    db.flush()
    return sid


def is_live(db: Session, *, sid: str, user_id: int) -> bool:
    row = db.execute(select(SignInSession.user_id, SignInSession.ended_at)
                     .where(SignInSession.id == sid)).first()
    return row is not None and row.user_id == user_id and row.ended_at is None


def live_for(db: Session, *, user_id: int) -> list[SignInSession]:
    """The person's sessions still open, newest first."""
    return list(db.scalars(select(SignInSession).where(
        SignInSession.user_id == user_id, SignInSession.ended_at.is_(None))
        .order_by(SignInSession.created_at.desc()).limit(MAX_LISTED)))


def end(db: Session, *, sid: str, actor: Principal) -> None:
    """End one of the actor's own sessions (another's is as good as absent: 404)."""
    row = db.get(SignInSession, sid)
    if row is None or row.user_id != actor.user_id or row.ended_at is not None:
        raise NotFound("no such open session")
    row.ended_at = utcnow()
    audit.record(db, actor=actor, action="session.end", entity="user", entity_id=actor.user_id)


def end_all(db: Session, *, user_id: int) -> None:
    """End every open session of an account (its password was reset)."""
    db.execute(update(SignInSession).where(SignInSession.user_id == user_id,
                                           SignInSession.ended_at.is_(None))
               .values(ended_at=utcnow()).execution_options(synchronize_session=False))
