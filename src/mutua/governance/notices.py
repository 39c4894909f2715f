"""What a proposal's electorate hears (opened, closing soon, result), through the notify
outbox, each member in their own language."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, case, cast, literal, null, select
from sqlalchemy.orm import Session

from mutua.dates import utcnow
from mutua.governance.models import Elector, Proposal
from mutua.notify import service as notify
from mutua.notify.models import ContactPreference


def tell_electors(db: Session, *, proposal: Proposal, event: str,
                  not_voted_only: bool = False) -> None:
    """The proposal's electorate hears of it in one ``INSERT ... SELECT``, its title in
    each member's language."""
    title = case((ContactPreference.locale == "en", literal(proposal.title_en[:200])),
                 else_=literal(proposal.title_zh[:200]))
    rows = (select(Elector.project_id, Elector.member_id, literal(proposal.id, BigInteger()),
                   title, cast(null(), BigInteger()))
            .outerjoin(ContactPreference, ContactPreference.member_id == Elector.member_id)
            .where(Elector.proposal_id == proposal.id))
    if not_voted_only:
        rows = rows.where(Elector.has_voted.is_(False))
    notify.tell_from_select(db, event=event, rows=rows, once=True)


def remind_closing_votes(db: Session, *, now: datetime | None = None,
                         within: timedelta = timedelta(hours=24)) -> int:
    """Electors who have not voted hear that voting closes within a day (once each)."""
    now = now or utcnow()
    closing = db.scalars(select(Proposal).where(Proposal.status == "open",
                                                Proposal.closes_at > now,
                                                Proposal.closes_at <= now + within)).all()
    for proposal in closing:  # a handful of open votes, each told in one statement
        tell_electors(db, proposal=proposal, event="vote.closing", not_voted_only=True)
    return len(closing)
