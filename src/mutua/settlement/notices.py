"""What members hear when a quarter of their pool is closed (through the notify outbox)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Integer, String, func, literal, select
from sqlalchemy.orm import Session

from mutua.notify import service as notify
from mutua.policies.models import Policy, SumInsuredUplift


def tell_statement_published(db: Session, *, project_id: int, close_id: int, quarter: str,
                             quarter_end: date) -> None:
    """Every member with cover in the pool at the quarter's end hears that the quarter is
    closed, with their own sum insured added by the close (nothing for some), in one
    ``INSERT ... SELECT``."""
    raised = (select(Policy.member_id.label("member_id"),
                     func.sum(SumInsuredUplift.sum_insured_added).label("added"))
              .join(Policy, Policy.id == SumInsuredUplift.policy_id)
              .where(SumInsuredUplift.project_id == project_id,
                     SumInsuredUplift.quarter == quarter)
              .group_by(Policy.member_id).subquery())
    covered = (select(Policy.member_id).where(
        Policy.project_id == project_id, Policy.cover_start <= quarter_end,
        Policy.cover_end >= quarter_end).distinct().subquery())
    rows = (select(literal(project_id, Integer()), covered.c.member_id,
                   literal(close_id, BigInteger()), literal(quarter, String()),
                   func.coalesce(raised.c.added, 0))
            .select_from(covered)
            .outerjoin(raised, raised.c.member_id == covered.c.member_id))
    notify.tell_from_select(db, event="statement.published", rows=rows, once=True)
