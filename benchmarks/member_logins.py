"""Logins for an imported group: N members without a login get one each, and each an
"account ready" notification, in one set-based step (policies/first_logins.py).

    python -m benchmarks member_logins --members 1000000 --db sqlite --json
    python -m benchmarks member_logins --members 1000000 --db postgres --url postgresql+psycopg://...

Prints {"members", "logins", "seconds", "logins_per_second", ...}. The members are written
first (COPY / executemany, not timed); the clock runs over open_logins and its commit.
PostgreSQL runs on the database named by --url (or MUTUA_BENCH_POSTGRES_URL), emptied first.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date

from benchmarks import _database as database


def prepare(url: str, members: int) -> None:
    from mutua.db import copy_rows, make_engine, unit_of_work
    from mutua.demo import builder

    builder.drop_database(url)
    builder.create_schema(url)
    engine = make_engine(url)
    with unit_of_work(engine) as db:
        # Synthetic rows: the step under test reads only the member number, name and id.
        copy_rows(db, "members", ["id", "member_number", "name", "id_number", "phone"],
                  ((n, f"M{n:09d}", f"会员{n}", f"{n:018d}", f"+86139{n:08d}")
                   for n in range(1, members + 1)),
                  same={"birth_date": date(1990, 1, 1), "sex": "F", "occupation_code": "A0103",
                        "occupation_class": 1, "city": "深圳", "status": "active",
                        "joined_at": _now()})
    engine.dispose()


def _now():
    from mutua.dates import utcnow

    return utcnow()


def run(url: str) -> dict:
    from sqlalchemy import func, select

    from mutua.db import make_engine, unit_of_work
    from mutua.notify.models import Notification
    from mutua.policies import first_logins

    engine = make_engine(url)
    started, cpu = time.perf_counter(), time.process_time()
    with unit_of_work(engine) as db:
        logins = first_logins.open_logins(db)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    with unit_of_work(engine) as db:
        told = db.scalar(select(func.count()).select_from(Notification))
    engine.dispose()
    return {"logins": logins, "notifications": told, "seconds": round(seconds, 3),
            "logins_per_second": round(logins / seconds, 1), "cpu_seconds": round(cpu, 3)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks member_logins",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    database.add_options(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = database.url_of(args, parser, tmp)
        prepare(url, args.members)
        result = run(url)
    result.update(db=args.db, members=args.members)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['logins']:,} logins and {result['notifications']:,} notifications for "
              f"{args.members:,} members on {args.db} in {result['seconds']} s "
              f"({result['logins_per_second']:,} a second)")
    return 0
