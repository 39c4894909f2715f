"""Ingest benchmark: a partner-lab CSV of N observations through the full pipeline.

    python -m benchmarks ingest --observations 1000000 --json
    python -m benchmarks ingest --observations 1000000 --database-url postgresql+psycopg://...

What is timed: reading the CSV text, checking every record (codes, units, plausible
values, dates, patients, duplicates), storing observations, computing eGFR (CKD-EPI 2021),
KDIGO stage and risk, KFRE, running slopes and every alert rule, and writing results and
alerts, then the commit. Setting up patients and writing the file are not timed.
The schema is dropped and rebuilt in the target database first.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

KINDS = [  # LOINC, unit, share, value generator
    ("2160-0", "mg/dL", 0.35, lambda rng, n: np.round(rng.lognormal(0.6, 0.45, n), 2)),
    ("14682-9", "umol/L", 0.05, lambda rng, n: np.round(rng.lognormal(5.08, 0.45, n), 0)),
    ("9318-7", "mg/g", 0.15, lambda rng, n: np.round(rng.lognormal(4.2, 1.2, n), 1)),
    ("8480-6", "mmHg", 0.2, lambda rng, n: np.round(rng.normal(132, 14, n))),
    ("2823-3", "mmol/L", 0.15, lambda rng, n: np.round(rng.normal(4.6, 0.5, n), 1)),
    ("718-7", "g/dL", 0.1, lambda rng, n: np.round(rng.normal(12, 1.5, n), 1)),
]


def make_patients(url: str, n: int, rng, today: date) -> list[str]:
    from mutua.db import make_engine, unit_of_work
    from mutua.demo.people import GUANGDONG, SHENZHEN, people
    from mutua.members import service as members_service
    from mutua.members.service import ValidMember

    crowd = people(rng, n, ages=(35, 80), on=today, occupations={"A0103": 1},
                   areas=SHENZHEN + GUANGDONG, cities=("深圳",))
    rows = [ValidMember(crowd.name[i], crowd.id_number[i], crowd.birth_date[i], crowd.sex[i],
                        crowd.phone[i], crowd.occupation_code[i], crowd.occupation_class[i],
                        crowd.city[i]) for i in range(n)]
    engine = make_engine(url)
    with unit_of_work(engine) as db:
        members_service.register_many(db, rows)
        from sqlalchemy import select

        from mutua.members.models import Member
        numbers = list(db.scalars(select(Member.member_number).order_by(Member.id)))
    engine.dispose()
    return numbers


def make_csv(path: Path, numbers: list[str], n: int, rng, today: date) -> None:
    shares = np.array([k[2] for k in KINDS])
    kind = rng.choice(len(KINDS), n, p=shares / shares.sum())
    who = rng.integers(0, len(numbers), n)
    day = rng.integers(0, 3 * 365, n)
    minute = rng.integers(0, 24 * 60, n)
    value = np.empty(n, dtype=object)
    for k, (_, _, _, gen) in enumerate(KINDS):
        m = kind == k
        value[m] = gen(rng, int(m.sum())).astype(str)
    start = today - timedelta(days=3 * 365 + 1)
    base = np.datetime64(start.isoformat()) + day.astype("timedelta64[D]")
    stamps = np.datetime_as_string(base.astype("datetime64[m]") + minute.astype("timedelta64[m]"))
    codes = np.array([k[0] for k in KINDS])[kind]
    units = np.array([k[1] for k in KINDS])[kind]
    nums = np.array(numbers)[who]
    lines = ["member_number,loinc,value,unit,effective_at"]
    lines += [f"{a},{b},{c},{d},{e}" for a, b, c, d, e in
              zip(nums, codes, value, units, stamps, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(url: str, n: int, patients: int, seed: int) -> dict:
    from mutua.auth.security import SYSTEM
    from mutua.db import Base, load_all_models, make_engine, unit_of_work
    from mutua.demo import builder
    from mutua.health import imports, service

    load_all_models()
    builder.drop_database(url)  # whatever is there now, the audit log's partitions too
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    rng = np.random.default_rng(seed)
    today = date.today()
    numbers = make_patients(url, patients, rng, today)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lab.csv"
        make_csv(path, numbers, n, rng, today)
        engine = make_engine(url)
        t0, c0 = time.perf_counter(), time.process_time()
        with unit_of_work(engine) as db:
            raw = imports.read_csv(path.read_text(encoding="utf-8"))
            t1 = time.perf_counter()
            out = service.import_records(db, actor=SYSTEM, raw=raw, source="csv")
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
        engine.dispose()
    return {
        "backend": url.split(":", 1)[0].split("+", 1)[0],
        "observations": n,
        "patients": patients,
        "accepted": out.accepted,
        "rejected": len(out.rejected),
        "results": len(out.result_ids),
        "alerts": out.alert_count,
        "read_seconds": round(t1 - t0, 2),
        "seconds": round(seconds, 2),
        "observations_per_second": round(n / seconds),
        # CPU time of this process in the timed part (the database server's is not counted):
        # on a shared machine it says what the run costs when it has a core to itself.
        "client_cpu_seconds": round(cpu, 2),
        "load_average": round(os.getloadavg()[0], 1),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks ingest",
                                     description="CSV lab ingest with eGFR, staging and alerts")
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--patients", type=int, default=None,
                        help="distinct patients (default: one per ten observations)")
    parser.add_argument("--database-url", default=None,
                        help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    patients = args.patients or max(1, args.observations // 10)
    if args.database_url:
        figures = run(args.database_url, args.observations, patients, args.seed)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            figures = run(f"sqlite:///{tmp}/bench.db", args.observations, patients, args.seed)
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
