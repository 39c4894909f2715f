"""Bulk enrolment throughput: a group file of N rows, validated, registered and enrolled.

    python -m benchmarks import_members --rows 100000 --db sqlite --json
    python -m benchmarks import_members --rows 100000 --db postgres --url postgresql+psycopg://...
    python -m benchmarks import_members --rows 1000000 --save /tmp/group.csv
    python -m benchmarks import_members --file /tmp/group.csv --db postgres --url ...

Prints {"rows", "seconds", "rows_per_second", ...}. The clock runs from the file's bytes to
the committed transaction: parsing, validation of every row, registration, enrolment, ledger.
PostgreSQL runs on the database named by --url (or MUTUA_BENCH_POSTGRES_URL), which is
emptied first.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks import _database as database


def make_file(rows: int, *, seed: int, today: date, bad_share: float, kind: str) -> bytes:
    """Synthetic couriers and riders; a share of rows carry a broken phone or ID number."""
    from mutua.demo.people import PROVINCES, SHENZHEN, people

    rng = np.random.default_rng(seed)
    crowd = people(rng, rows, ages=(18, 60), on=today, age_mode=30,
                   occupations={"E0501": 5, "F0601": 4, "D0402": 1},
                   areas=SHENZHEN + PROVINCES, cities=("深圳",))
    records = crowd.rows()
    for i in np.flatnonzero(rng.random(rows) < bad_share):
        records[i]["phone" if i % 2 else "id_number"] = "12345"
    header = ["name", "id_number", "phone", "occupation_code", "city"]
    if kind == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        ws.append(header)
        for r in records:
            ws.append([r[h] for h in header])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode("utf-8")


def prepare(url: str, today: date) -> None:
    """A fresh schema with the new-citizen project on sale today."""
    from mutua.auth.security import SYSTEM
    from mutua.catalog import service as catalog_service
    from mutua.db import make_engine, unit_of_work
    from mutua.demo import builder, catalogue

    builder.drop_database(url)
    builder.create_schema(url)
    raw = next(d for d in catalogue.raw_definitions(today)
               if d["project"]["code"] == "SZ-NEWCITIZEN")
    engine = make_engine(url)
    with unit_of_work(engine) as db:
        catalog_service.load_definition(db, defn=catalog_service.check_definition(raw),
                                        actor=SYSTEM)
    engine.dispose()


def run(url: str, data: bytes, *, filename: str, today: date) -> dict:
    from mutua.auth.security import SYSTEM
    from mutua.db import make_engine, unit_of_work
    from mutua.policies import importer
    from mutua.settings import Settings

    engine = make_engine(url)
    settings = Settings(database_url=url)
    started, cpu = time.perf_counter(), time.process_time()
    with unit_of_work(engine) as db:
        server = _ServerCpu(db)
        report = importer.import_members(db, data=data, filename=filename,
                                         product_code="SZNC-BASIC", period_code=_open(today),
                                         actor=SYSTEM, on=today, settings=settings)
        server_cpu = server.seconds()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    # On a shared machine the wall clock depends on the neighbours; the process's own CPU
    # time shows what the import itself costs, and the PostgreSQL server process's CPU time
    # (read from /proc when the server runs on this machine) what it costs the database.
    out = {"rows": report.rows, "seconds": round(seconds, 3),
           "rows_per_second": round(report.rows / seconds, 1), "cpu_seconds": round(cpu, 3),
           "rows_per_cpu_second": round(report.rows / cpu, 1), "enrolled": report.enrolled,
           "bad": len(report.bad_rows), "bytes": len(data)}
    if server_cpu is not None:
        out.update(server_cpu_seconds=round(server_cpu, 3),
                   rows_per_server_cpu_second=round(report.rows / max(server_cpu, 1e-9), 1))
    return out


class _ServerCpu:
    """CPU seconds the session's PostgreSQL backend spends, when /proc shows its process."""

    def __init__(self, db):
        from sqlalchemy import text

        self.pid = (db.scalar(text("SELECT pg_backend_pid()"))
                    if db.get_bind().dialect.name == "postgresql" else None)
        self.start = self._ticks()

    def _ticks(self) -> int | None:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)

    def seconds(self) -> float | None:
        end = self._ticks() if self.start is not None else None
        return None if end is None else (end - self.start) / os.sysconf("SC_CLK_TCK")


def _open(today: date) -> str:
    from mutua.dates import Quarter

    return str(Quarter.of(today))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks import_members",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    database.add_options(parser)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--bad-share", type=float, default=0.01,
                        help="share of rows with a broken phone or ID number")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--save", type=Path, help="write the group file here and stop")
    parser.add_argument("--file", type=Path,
                        help="import this group file (made with --save) rather than making "
                             "one, so the process's peak memory is the import's alone")
    args = parser.parse_args(argv)
    from mutua.dates import today as shanghai_today

    today = shanghai_today()
    if args.file is None:
        data = make_file(args.rows, seed=args.seed, today=today, bad_share=args.bad_share,
                         kind=args.format)
        if args.save is not None:
            args.save.write_bytes(data)
            return 0
    else:
        data = args.file.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        url = database.url_of(args, parser, tmp)
        prepare(url, today)
        result = run(url, data, filename=f"group.{args.format}", today=today)
    result.update(db=args.db, format=args.format)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"imported {result['rows']:,} rows ({result['bad']:,} bad) into {args.db} in "
              f"{result['seconds']} s: {result['rows_per_second']:,} rows/s; "
              f"{result['rows_per_cpu_second']:,} rows per second of this process's CPU" +
              (f", {result['rows_per_server_cpu_second']:,} per second of the server's"
               if "server_cpu_seconds" in result else ""))
    return 0
