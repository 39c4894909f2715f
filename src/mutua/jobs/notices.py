"""The notification round the workers run every minute: the reminders the domains own,
then the outbox's dispatch and delivery (notify/delivery.py)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from mutua.governance.notices import remind_closing_votes
from mutua.notify.delivery import Round, deliver_round

REMINDERS = (remind_closing_votes,)


def notification_round(engine: Engine, *, settings) -> Round:
    return deliver_round(engine, settings=settings, reminders=REMINDERS)
