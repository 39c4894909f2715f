"""Set-based reads for the close: earned premium, policies in force, uplifts so far.

Every figure is one SQL aggregate (or one column read into numpy) over the project's
policies, written once for SQLite and PostgreSQL: only the difference of two dates needs
a dialect of its own. Amounts are integer fen throughout.

Earned premium follows mutua.actuarial.earned: per policy, cumulative earned at the end of
day D is round_half_up(net premium x elapsed days / cover days), with the net premium
(premium less any refund) spread over the days actually covered, so a cancellation earns
exactly what it kept. A quarter's earned premium is cumulative at its end less cumulative
at the end of the day before it starts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from mutua.dates import Quarter
from mutua.db import is_sqlite


def _days(db: Session, later: str, earlier: str) -> str:
    """SQL for whole days from ``earlier`` to ``later`` (both DATE expressions)."""
    if is_sqlite(db.get_bind()):
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def _date_param(db: Session, name: str) -> str:
    return f":{name}" if is_sqlite(db.get_bind()) else f"CAST(:{name} AS DATE)"


def _cum_earned(db: Session, as_of: str, net: str, start: str, end: str) -> str:
    """SQL for cumulative earned fen by the end of ``as_of`` (see the module docstring)."""
    span = f"({_days(db, end, start)} + 1)"
    elapsed = f"({_days(db, as_of, start)} + 1)"
    return (f"CASE WHEN {end} < {start} THEN 0 WHEN {as_of} >= {end} THEN {net} "
            f"WHEN {as_of} < {start} THEN 0 "
            f"ELSE (2 * {net} * {elapsed} + {span}) / (2 * {span}) END")


# Named for the close's other set-based reads (settlement.reserving).
days_between = _days
date_param = _date_param
cum_earned = _cum_earned


def earned_in_quarters(db: Session, *, project_id: int, quarters: list[Quarter]
                       ) -> dict[Quarter, int]:
    """Each quarter's earned premium (fen) in one pass over the project's policies."""
    if not quarters:
        return {}
    net = "(p.premium - p.refund)"
    sums, params = [], {"project_id": project_id}
    for i, q in enumerate(quarters):
        params[f"e{i}"] = q.end.isoformat()
        params[f"b{i}"] = (q.start - timedelta(days=1)).isoformat()
        end, before = _date_param(db, f"e{i}"), _date_param(db, f"b{i}")
        sums.append(f"SUM({_cum_earned(db, end, net, 'p.cover_start', 'p.cover_end')} - "
                    f"{_cum_earned(db, before, net, 'p.cover_start', 'p.cover_end')})")
    row = db.execute(text(f"SELECT {', '.join(sums)} FROM policies p "
                          "WHERE p.project_id = :project_id"), params).one()
    return {q: int(v or 0) for q, v in zip(quarters, row, strict=True)}


@dataclass(frozen=True)
class EarnedByProduct:
    product_id: int
    to_date: int  # cumulative earned by the quarter's end
    in_quarter: int  # earned on the quarter's days


def earned_by_product(db: Session, *, project_id: int, quarter: Quarter) -> list[EarnedByProduct]:
    end, before = _date_param(db, "q_end"), _date_param(db, "q_before")
    net = "(p.premium - p.refund)"
    cum_end = _cum_earned(db, end, net, "p.cover_start", "p.cover_end")
    cum_before = _cum_earned(db, before, net, "p.cover_start", "p.cover_end")
    sql = text(
        f"SELECT p.product_id, SUM({cum_end}), SUM({cum_end} - {cum_before}) "
        f"FROM policies p WHERE p.project_id = :project_id AND p.cover_start <= {end} "
        "GROUP BY p.product_id ORDER BY p.product_id"
    )
    rows = db.execute(sql, {"project_id": project_id, "q_end": quarter.end.isoformat(),
                            "q_before": (quarter.start - timedelta(days=1)).isoformat()}).all()
    return [EarnedByProduct(int(p), int(a or 0), int(b or 0)) for p, a, b in rows]


def uplift_earned_to_date(db: Session, *, project_id: int, as_of: date) -> int:
    """Uplift premium (paid by the pool on members' behalf) earned by ``as_of``: each uplift,
    less what a cancellation returned, is earned from its effective date to the end of its
    policy's cover."""
    d = _date_param(db, "as_of")
    cum = _cum_earned(db, d, "(u.money - u.returned)", "u.effective_from", "p.cover_end")
    # What a cancellation returned to the pool is never earned (settlement.reserving books
    # it); an uplift whose policy ended before it took effect is earned at once.
    sql = text(
        "SELECT SUM(CASE WHEN p.cover_end < u.effective_from THEN u.money - u.returned "
        f"ELSE {cum} END) "
        "FROM sum_insured_uplifts u JOIN policies p ON p.id = u.policy_id "
        f"WHERE u.project_id = :project_id AND u.effective_from <= {d}"
    )
    return int(db.execute(sql, {"project_id": project_id, "as_of": as_of.isoformat()}).scalar() or 0)


@dataclass(frozen=True)
class InForce:
    """Policies in force on a day (the first day of the next quarter), ordered by id."""

    policy_id: np.ndarray
    member_id: np.ndarray
    product_id: np.ndarray
    coefficient_units: np.ndarray  # the policy's coefficient x 10,000
    remaining_days: np.ndarray  # days of cover from that day to the cover's end, both counted


def in_force_on(db: Session, *, project_id: int, day: date) -> InForce:
    """Read the columns once through the driver into numpy: a million rows are read in
    about a second this way, where per-row objects take ten."""
    if is_sqlite(db.get_bind()):
        sql = ("SELECT id, member_id, product_id, CAST(ROUND(coefficient * 10000) AS INTEGER), "
               "CAST(julianday(cover_end) - julianday(?) AS INTEGER) + 1 FROM policies "
               "WHERE project_id = ? AND cover_start <= ? AND cover_end >= ?")
        params = (day.isoformat(), project_id, day.isoformat(), day.isoformat())
    else:
        sql = ("SELECT id, member_id, product_id, CAST(ROUND(coefficient * 10000) AS BIGINT), "
               "cover_end - CAST(%s AS DATE) + 1 FROM policies "
               "WHERE project_id = %s AND cover_start <= %s AND cover_end >= %s")
        params = (day.isoformat(), project_id, day.isoformat(), day.isoformat())
    cols = _columns(db, sql, params, 5)
    cols = cols[np.argsort(cols[:, 0], kind="stable")]
    return InForce(*(cols[:, i] for i in range(5)))


def uplifted_so_far(db: Session, *, project_id: int, day: date) -> np.ndarray:
    """(policy id, benefit id, sum insured added in fen) of the uplifts in effect on
    ``day``, one row per policy and benefit, ordered by both.

    The rows are summed in numpy: a GROUP BY over millions of uplift rows costs SQLite a
    temporary B-tree, half again the time of reading them and sorting their keys."""
    mark = "?" if is_sqlite(db.get_bind()) else "%s"
    sql = ("SELECT policy_id, benefit_id, sum_insured_added FROM sum_insured_uplifts "
           f"WHERE project_id = {mark} AND effective_from <= {mark}")
    rows = _columns(db, sql, (project_id, day.isoformat()), 3)
    if len(rows) == 0:
        return rows
    width = int(rows[:, 1].max()) + 1
    keys = rows[:, 0] * width + rows[:, 1]
    order = np.argsort(keys, kind="stable")
    keys, rows = keys[order], rows[order]
    first = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    out = rows[first].copy()
    out[:, 2] = np.add.reduceat(rows[:, 2], first)
    return out


def _columns(db: Session, sql: str, params: tuple, width: int) -> np.ndarray:
    """Integer columns of a query, read through the DBAPI cursor into an (n, width) array
    (streamed into numpy: no list of row tuples is built)."""
    raw = db.connection().connection.dbapi_connection
    cur = raw.cursor()
    try:
        cur.execute(sql, params)
        flat = np.fromiter(itertools.chain.from_iterable(cur), dtype=np.int64)
    finally:
        cur.close()
    return flat.reshape(-1, width)
