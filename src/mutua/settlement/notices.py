"""What members hear when a quarter of their pool is closed (through the notify outbox)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Integer, String, func, literal, select, union_all
from sqlalchemy.orm import Session

from mutua.db import is_sqlite
from mutua.notify import service as notify
from mutua.policies.models import Policy, SumInsuredUplift


def tell_statement_published(db: Session, *, project_id: int, close_id: int, quarter: str,
                             quarter_end: date) -> None:
    """Every member with cover in the pool at the quarter's end hears that the quarter is
    closed, with their own sum insured added by the close (nothing for some), in one
    ``INSERT ... SELECT``."""
    covered_and_raised = _by_union if is_sqlite(db.get_bind()) else _by_join
    rows = covered_and_raised(project_id, quarter, quarter_end)
    notify.tell_from_select(db, event="statement.published",
                            rows=select(literal(project_id, Integer()), rows.c.member_id,
                                        literal(close_id, BigInteger()),
                                        literal(quarter, String()), rows.c.added),
                            once=True)


def _covered(project_id: int, quarter_end: date):
    return (Policy.project_id == project_id, Policy.cover_start <= quarter_end,
            Policy.cover_end >= quarter_end)


def _raised(project_id: int, quarter: str, covered_flag: bool = False):
    columns = [Policy.member_id.label("member_id")]
    if covered_flag:
        columns.append(literal(0).label("covered"))
    return (select(*columns, SumInsuredUplift.sum_insured_added.label("added"))
            .join(Policy, Policy.id == SumInsuredUplift.policy_id)
            .where(SumInsuredUplift.project_id == project_id,
                   SumInsuredUplift.quarter == quarter))


def _by_join(project_id: int, quarter: str, quarter_end: date):
    """(member_id, added): the members covered, left-joined to their uplifts summed.
    PostgreSQL hashes the join."""
    raised = _raised(project_id, quarter).subquery()
    per_member = (select(raised.c.member_id, func.sum(raised.c.added).label("added"))
                  .group_by(raised.c.member_id).subquery())
    covered = select(Policy.member_id).where(*_covered(project_id, quarter_end)) \
        .distinct().subquery()
    return (select(covered.c.member_id, func.coalesce(per_member.c.added, 0).label("added"))
            .outerjoin(per_member, per_member.c.member_id == covered.c.member_id).subquery())


def _by_union(project_id: int, quarter: str, quarter_end: date):
    """(member_id, added) in one pass grouped by member over the members covered (flag 1)
    and the uplifts raised (flag 0). SQLite scans a materialised aggregate once per outer
    row of a LEFT JOIN, which for a million members never ends; PostgreSQL misjudges this
    form's HAVING and probes the outbox once per member, hence two forms."""
    covered = select(Policy.member_id.label("member_id"), literal(1).label("covered"),
                     literal(0).label("added")).where(*_covered(project_id, quarter_end))
    both = union_all(covered, _raised(project_id, quarter, covered_flag=True)).subquery()
    return (select(both.c.member_id, func.sum(both.c.added).label("added"))
            .group_by(both.c.member_id).having(func.max(both.c.covered) == 1).subquery())
