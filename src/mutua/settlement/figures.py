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


def policy_id_span(db: Session, *, project_id: int) -> tuple[int, int]:
    """(lowest, highest) policy id of a project, (0, -1) without policies: the close reads
    the project in id ranges of a bounded size between them."""
    lo, hi = db.execute(text("SELECT MIN(id), MAX(id) FROM policies WHERE project_id = :p"),
                        {"p": project_id}).one()
    return (0, -1) if lo is None else (int(lo), int(hi))


def in_force_on(db: Session, *, project_id: int, day: date, ids: tuple[int, int]) -> InForce:
    """The policies with ids in ``ids`` (from, to, both included) in force on ``day``.

    Read as columns through the driver into numpy, one id range at a time, so the memory
    held is that of one range whatever the size of the pool."""
    if is_sqlite(db.get_bind()):
        sql = ("SELECT id, member_id, product_id, CAST(ROUND(coefficient * 10000) AS INTEGER), "
               "CAST(julianday(cover_end) - julianday(?) AS INTEGER) + 1 FROM policies "
               "WHERE id >= ? AND id <= ? AND +project_id = ? AND +cover_start <= ? "
               "AND +cover_end >= ?")  # unary +: SQLite seeks the id range, no other index
    else:
        sql = ("SELECT CAST(id AS BIGINT), CAST(member_id AS BIGINT), "
               "CAST(product_id AS BIGINT), CAST(ROUND(coefficient * 10000) AS BIGINT), "
               "CAST(cover_end - CAST(%s AS DATE) + 1 AS BIGINT) FROM policies "
               "WHERE id >= %s AND id <= %s AND project_id = %s AND cover_start <= %s "
               "AND cover_end >= %s")
    params = (day.isoformat(), ids[0], ids[1], project_id, day.isoformat(), day.isoformat())
    cols = _columns(db, sql, params, 5)
    cols = cols[np.argsort(cols[:, 0], kind="stable")]
    return InForce(*(cols[:, i] for i in range(5)))


def uplifted_so_far(db: Session, *, project_id: int, day: date,
                    ids: tuple[int, int]) -> np.ndarray:
    """(policy id, benefit id, sum insured added in fen) of the uplifts in effect on
    ``day`` for the policies with ids in ``ids``, one row per policy and benefit, ordered
    by both.

    The rows are summed in numpy: a GROUP BY over millions of uplift rows costs SQLite a
    temporary B-tree, half again the time of reading them and sorting their keys."""
    sqlite = is_sqlite(db.get_bind())
    mark, plus = ("?", "+") if sqlite else ("%s", "")  # + keeps SQLite on the policy index
    sql = ("SELECT CAST(policy_id AS BIGINT), CAST(benefit_id AS BIGINT), "
           "CAST(sum_insured_added AS BIGINT) FROM sum_insured_uplifts "
           f"WHERE policy_id >= {mark} AND policy_id <= {mark} AND {plus}project_id = {mark} "
           f"AND effective_from <= {mark}")
    rows = _columns(db, sql, (ids[0], ids[1], project_id, day.isoformat()), 3)
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
    """Integer columns of a query (no NULLs; on PostgreSQL each cast to BIGINT) as an
    (n, width) int64 array.

    PostgreSQL sends them in COPY's binary format, read straight into numpy (a row of
    8-byte integers has a fixed size there); SQLite's rows stream into numpy through the
    cursor. Neither builds a list of row tuples."""
    raw = db.connection().connection.dbapi_connection
    if not is_sqlite(db.get_bind()):
        return _copy_binary(raw, sql, params, width)
    cur = raw.cursor()
    try:
        cur.execute(sql, params)
        flat = np.fromiter(itertools.chain.from_iterable(cur), dtype=np.int64)
    finally:
        cur.close()
    return flat.reshape(-1, width)


def _copy_binary(raw, sql: str, params: tuple, width: int) -> np.ndarray:
    """``COPY (sql) TO STDOUT (FORMAT BINARY)`` of BIGINT columns into an int64 array.

    After an 11-byte signature, 32-bit flags and a 32-bit header-extension length (and
    that many bytes), each row is a 16-bit field count, then per field a 32-bit length and
    the 8-byte big-endian value; the stream ends with a field count of -1."""
    with raw.cursor() as cur, cur.copy(
            f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy:
        data = b"".join(bytes(block) for block in copy)
    extension = int.from_bytes(data[15:19], "big")
    body = memoryview(data)[19 + extension:len(data) - 2]
    fields = [("count", ">i2")]
    for i in range(width):
        fields += [(f"len{i}", ">i4"), (f"v{i}", ">i8")]
    dtype = np.dtype(fields)
    if len(body) % dtype.itemsize:
        raise ValueError("COPY returned a NULL or a column that is not BIGINT")
    rows = np.frombuffer(body, dtype=dtype)
    if len(rows) and ((rows["count"] != width).any()
                      or any((rows[f"len{i}"] != 8).any() for i in range(width))):
        raise ValueError("COPY returned a NULL or a column that is not BIGINT")
    out = np.empty((len(rows), width), dtype=np.int64)
    for i in range(width):
        out[:, i] = rows[f"v{i}"]
    return out
