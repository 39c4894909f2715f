"""The audit log by month against one plain table: the insert rate and taking out a year.

    python -m benchmarks audit_partitions --rows 1000000 --years 2 --url postgresql+psycopg://...

PostgreSQL only (SQLite has no partitioning). Runs twice on the database named by --url (or
MUTUA_BENCH_POSTGRES_URL), which is emptied first: once with ``audit_events`` as migration
0021 leaves it (a partition a month), once made plain again by what its downgrade runs.
Each run writes N events spread evenly over Y calendar years ending last 31 December, in
transactions of ``--batch`` rows shaped like :func:`mutua.audit.service.record_many`'s,
then takes the oldest calendar year out of the live table: DETACH of its twelve months and
DROP of their tables (``mutua privacy archive-audit-year``, then the operator's drop)
against ``DELETE ... WHERE at < 1 January`` of the next year on the plain table, with a
VACUUM after it so the space is reusable, as it must be for the DELETE to have bought
anything. The append-only trigger is not installed here (it would refuse the DELETE: the
application never deletes audit events; this measures what an operator's purge would cost).

Prints {"plain": {...}, "partitioned": {...}} with inserts a second, the year's rows and
the seconds to take them out, and the newest-page read (the staff audit page's query).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date, datetime

from benchmarks import _database as database

READS = 20  # newest-page reads timed per run


def spread(years: int, today: date) -> tuple[datetime, datetime]:
    """The first and last moment of ``years`` whole calendar years (Asia/Shanghai, whose
    months the partitions are) ending last 31 December."""
    from mutua.dates import SHANGHAI

    return (datetime(today.year - years, 1, 1, tzinfo=SHANGHAI),
            datetime(today.year, 1, 1, tzinfo=SHANGHAI))


def fill(engine, rows: int, first: datetime, last: datetime, batch: int) -> float:
    """Write ``rows`` events in time order between ``first`` and ``last``; seconds taken."""
    from sqlalchemy import insert

    from mutua.audit.models import AuditEvent

    step = (last - first) / rows
    started = time.perf_counter()
    for low in range(0, rows, batch):
        with engine.begin() as conn:
            conn.execute(insert(AuditEvent), [
                {"at": first + step * i, "actor_user_id": 1, "actor_username": "finance",
                 "actor_role": "finance", "action": "claim.decide", "entity": "claim",
                 "entity_id": str(i), "project_id": 1 + i % 4, "detail": {"amount": "100.00"}}
                for i in range(low, min(rows, low + batch))])
    return time.perf_counter() - started


def take_out_year(engine, year: int, today: date, *, partitioned: bool) -> dict:
    """Take the year's rows out of the live table: how many, the seconds, the WAL written,
    the table's size (indexes included) before and after, and the rows left."""
    from sqlalchemy import text

    from mutua.audit import partitions

    bound = f"'{year + 1}-01-01 00:00:00 {partitions.ZONE}'"
    with engine.connect() as conn:
        count = conn.scalar(text(f"SELECT count(*) FROM audit_events WHERE at < {bound}"))
        before, wal = _size_mb(conn), conn.scalar(text("SELECT pg_current_wal_lsn()"))
    started = time.perf_counter()
    if partitioned:
        with engine.begin() as conn:
            for name in partitions.archive_year(conn, year=year, today=today):
                conn.execute(text(f"DROP TABLE {name}"))
    else:
        with engine.begin() as conn:
            conn.execute(text(f"DELETE FROM audit_events WHERE at < {bound}"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM audit_events"))
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        wal_mb = conn.scalar(text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :w)"),
                             {"w": wal}) / 2**20
        return {"year_rows": count, "take_out_year_seconds": round(seconds, 3),
                "take_out_wal_mb": round(float(wal_mb), 1), "mb_before": before,
                "mb_after": _size_mb(conn),
                "rows_left": conn.scalar(text("SELECT count(*) FROM audit_events"))}


def _size_mb(conn) -> float:
    from sqlalchemy import text

    size = conn.scalar(text(  # the table, or the partitions attached to it
        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
        "WHERE c.oid = 'audit_events'::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits "
        "WHERE inhparent = 'audit_events'::regclass)"))
    return round(float(size) / 2**20, 1)


def newest_page_ms(engine) -> float:
    """The staff audit page's read (50 newest events), median of READS runs, in ms."""
    from mutua.audit import service
    from mutua.db import session_factory

    times = []
    for _ in range(READS):
        with session_factory(engine)() as db:
            started = time.perf_counter()
            service.recent(db, limit=50)
            times.append(time.perf_counter() - started)
    return round(sorted(times)[len(times) // 2] * 1000, 2)


def run(url: str, *, rows: int, years: int, batch: int, today: date,
        partitioned: bool) -> dict:
    from mutua.audit import partitions
    from mutua.db import make_engine
    from mutua.demo import builder

    builder.drop_database(url)
    builder.create_schema(url)  # the migrations: 0021 leaves audit_events by month
    first, last = spread(years, today)
    engine = make_engine(url)
    with engine.begin() as conn:
        if partitioned:
            partitions.prepare_ahead(conn, today=first.date(), months=12 * years - 1)
        else:
            partitions.unpartition(conn, indexes=partitions.model_indexes(
                _audit_table()))
    try:
        seconds = fill(engine, rows, first, last, batch)
        read_ms = newest_page_ms(engine)
        taken_out = take_out_year(engine, first.year, today, partitioned=partitioned)
    finally:
        engine.dispose()
    return {"insert_seconds": round(seconds, 2), "rows_per_second": round(rows / seconds),
            "newest_page_ms": read_ms, "year": first.year, **taken_out}


def _audit_table():
    from mutua.audit.models import AuditEvent

    return AuditEvent.__table__


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks audit_partitions",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=2,
                        help="calendar years the events spread over, ending last year (1-10)")
    parser.add_argument("--batch", type=int, default=5_000, help="rows a transaction")
    parser.add_argument("--url", help="PostgreSQL URL (emptied first)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not 1 <= args.years <= 10:
        parser.error("--years must be from 1 to 10")
    if not 1 <= args.batch <= 100_000 or not 1 <= args.rows <= 100_000_000:
        parser.error("--batch must be 1-100000 and --rows 1-100000000")
    from mutua.dates import today as shanghai_today

    args.db = "postgres"
    today = shanghai_today()
    with tempfile.TemporaryDirectory() as tmp:
        url = database.url_of(args, parser, tmp)
    result = {"rows": args.rows, "years": args.years, "batch": args.batch}
    for kind in ("plain", "partitioned"):
        result[kind] = run(url, rows=args.rows, years=args.years, batch=args.batch,
                           today=today, partitioned=kind == "partitioned")
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(result))
    else:
        for kind in ("plain", "partitioned"):
            r = result[kind]
            print(f"{kind:>11}: {r['rows_per_second']:,} inserts/s, newest page "
                  f"{r['newest_page_ms']} ms, year {r['year']} ({r['year_rows']:,} rows) "
                  f"out in {r['take_out_year_seconds']} s writing {r['take_out_wal_mb']} MB "
                  f"of WAL; {r['mb_before']} MB -> {r['mb_after']} MB")
        print(f"load average {result['load_average']}")
    return 0
