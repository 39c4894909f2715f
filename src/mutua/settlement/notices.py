"""What members hear when a quarter of their pool is closed (through the notify outbox)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Integer, String, func, literal, select, union_all
from sqlalchemy.orm import Session

from mutua.notify import service as notify
from mutua.notify.models import Notification
from mutua.policies.models import Policy, SumInsuredUplift

EVENT = "statement.published"


def tell_statement_published(db: Session, *, project_id: int, close_id: int, quarter: str,
                             quarter_end: date) -> None:
    """Every member with cover in the pool at the quarter's end hears that the quarter is
    closed, with their own sum insured added by the close (nothing for some), in one
    ``INSERT ... SELECT``; a member already told of this close is not told again.

    The statement takes one pass grouped by member over two kinds of rows, the members
    covered at the quarter's end (flag 1) and the uplifts the close raised (flag 0), and
    leaves out those told by ``NOT IN`` one set. Joining the members to an aggregate of
    their uplifts, or probing the outbox member by member, grows with the square of the
    pool wherever the planner misjudges it (SQLite always; PostgreSQL on the close's own
    uplifts, written in the same transaction and not yet in its statistics).
    """
    covered = select(Policy.member_id.label("member_id"), literal(1).label("covered"),
                     literal(0).label("added")).where(
        Policy.project_id == project_id, Policy.cover_start <= quarter_end,
        Policy.cover_end >= quarter_end)
    raised = (select(Policy.member_id.label("member_id"), literal(0).label("covered"),
                     SumInsuredUplift.sum_insured_added.label("added"))
              .join(Policy, Policy.id == SumInsuredUplift.policy_id)
              .where(SumInsuredUplift.project_id == project_id,
                     SumInsuredUplift.quarter == quarter))
    both = union_all(covered, raised).subquery()
    told = select(Notification.member_id).where(Notification.event == EVENT,
                                                Notification.ref_id == close_id)
    rows = (select(literal(project_id, Integer()), both.c.member_id,
                   literal(close_id, BigInteger()), literal(quarter, String()),
                   func.sum(both.c.added))
            .where(both.c.member_id.not_in(told))
            .group_by(both.c.member_id).having(func.max(both.c.covered) == 1))
    notify.tell_from_select(db, event=EVENT, rows=rows)
