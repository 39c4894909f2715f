"""The quarterly close at scale: N policies in force, M claims, one project.

    python -m benchmarks settle --policies 1000000 --claims 50000 --db sqlite --json
    python -m benchmarks settle --policies 1000000 --claims 50000 --db postgres --json

Builds the project in a child process (bulk inserts: executemany of tuples on SQLite, COPY
on PostgreSQL), then, in this process, times

- ``baseline``: a hand-written minimal SQL close producing the same totals (earned premium,
  claims, surplus) and the same per-policy, per-benefit uplift rows with one
  INSERT ... SELECT, rolled back afterwards;
- ``seconds``: the real close (`settlement.service.close_quarter`), committed.

Prints {"seconds", "baseline_seconds", "ratio", "peak_memory_mb", ...}; peak memory is the
high-water mark of this process, which never held the build's data. ``--sizes 1000000,
10000000`` measures several pools in one process, smallest first, one database each (named
after the size, claims one per 20 policies), and prints the high-water mark after each: if
it does not rise with the pool, the close's memory is bounded. ``--reuse`` starts again from
a copy of the database as built (``--keep``: a file beside SQLite's, made by default; a
``NAME_pristine`` template database on PostgreSQL), or on PostgreSQL from a database built
and not yet closed, skipping the build. ``--chunk`` sets the policy ids the close reads at
a time. PostgreSQL uses --url, else MUTUA_BENCH_POSTGRES_URL, else the local test server.

    python -m benchmarks settle --sizes 1000000,10000000 --db postgres --url URL --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np

QUARTER = "2025Q3"
TODAY = date(2025, 10, 15)
YEAR_START = date(2025, 1, 1)
PREMIUM_FEN = 12000
CODE = "BENCH-SETTLE"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5433/mutua_settle_bench"
CHUNK = 50_000


def _definition() -> dict:
    """A uniform-premium accident product with death, disability, medical and sudden death,
    its pure risk rates priced for its premium (62.00 of claims a year on 120.00)."""
    return {
        "project": {"code": CODE, "name_zh": "基准项目", "name_en": "Benchmark pool",
                    "target_group": "couriers", "reserving_method": "bf",
                    "a_priori_loss_ratio": "0.55"},
        "products": [{
            "code": f"{CODE}-1", "name_zh": "基准意外险", "name_en": "Benchmark accident",
            "line": "accident", "uniform_premium": f"{PREMIUM_FEN / 100:.2f}", "term_days": 365,
            "min_age": 16, "max_age": 65, "allowed_classes": [1, 2, 3, 4, 5, 6],
            "waiting_days": 0, "expense_loading": "0.15", "exclusions": [],
            "reporting_pattern": ["0.15", "0.04", "0.01", "0"],
            "benefits": [
                {"code": "death", "kind": "accidental_death", "name_zh": "意外身故",
                 "name_en": "Accidental death", "base_sum_insured": "100000",
                 "pure_risk_rate": "0.0002"},
                {"code": "disability", "kind": "disability", "name_zh": "意外伤残",
                 "name_en": "Disability", "base_sum_insured": "100000",
                 "pure_risk_rate": "0.00012", "shares_sum_insured_with": "death"},
                {"code": "medical", "kind": "accidental_medical", "name_zh": "意外医疗",
                 "name_en": "Accidental medical", "base_sum_insured": "10000",
                 "pure_risk_rate": "0.0025", "deductible": "100",
                 "coinsurance_with_social": "0.9", "coinsurance_without_social": "0.6"},
                {"code": "sudden_death", "kind": "sudden_death", "name_zh": "猝死",
                 "name_en": "Sudden death", "base_sum_insured": "50000",
                 "pure_risk_rate": "0.0001"},
            ],
            "coefficients": {"classes": [1, 2, 3, 4, 5, 6], "bands": [
                {"ages": [16, 65], "row": ["1", "0.667", "0.5", "0.333", "0.2", "0.125"]}]},
            "periods": [{"code": "2025", "sale_start": "2024-12-01", "sale_end": "2025-09-30",
                         "cover_start": "2025-01-01"}],
        }],
    }


# ------------------------------------------------------------------------------ building

def build(url: str, policies: int, claims: int, seed: int = 11) -> None:
    from mutua.auth.security import SYSTEM
    from mutua.catalog import service as catalog_service
    from mutua.db import Base, load_all_models, make_engine, unit_of_work
    from mutua.demo.builder import drop_database
    from mutua.ledger import service as ledger_service

    drop_database(url)
    load_all_models()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with unit_of_work(engine) as db:
        product = catalog_service.load_definition(
            db, defn=catalog_service.check_definition(_definition()), actor=SYSTEM)[0]
        ledger_service.open_books(db, project_id=product.project_id)
        ids = (product.project_id, product.id, product.periods[0].id,
               [b.id for b in product.benefits])
    project_id, product_id, period_id, benefit_ids = ids
    rng = np.random.default_rng(seed)
    raw = engine.raw_connection()
    try:
        _members(raw, url, policies)
        _policies(raw, url, rng, policies, project_id, product_id, period_id)
        _claims(raw, url, rng, policies, claims, project_id, benefit_ids[2])
        raw.commit()
    finally:
        raw.close()
    if url.startswith("postgres"):
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    from mutua.settlement import service

    for quarter, today in (("2025Q1", date(2025, 4, 5)), ("2025Q2", date(2025, 7, 5))):
        with unit_of_work(engine) as db:  # earlier quarters, so the timed close is a normal one
            service.close_quarter(db, project_code=CODE, quarter=quarter, actor=SYSTEM,
                                  today=today)
    engine.dispose()


def _write(raw, url: str, table: str, columns: list[str], rows) -> None:
    """Bulk rows: COPY on PostgreSQL, executemany of tuples on SQLite."""
    cur = raw.cursor()
    if url.startswith("postgres"):
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        return
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    batch = []
    for r in rows:
        batch.append(r)
        if len(batch) >= CHUNK:
            cur.executemany(sql, batch)
            batch.clear()
    if batch:
        cur.executemany(sql, batch)


def _members(raw, url: str, n: int) -> None:
    now = "2025-01-01 00:00:00+00:00"
    cols = ["id", "member_number", "name", "id_number", "birth_date", "sex", "phone",
            "occupation_code", "occupation_class", "city", "status", "joined_at"]
    _write(raw, url, "members", cols, (
        (i, f"M{i:09d}", "会员", f"{440305000000000000 + i}", "1990-05-17", "F",
         f"+86139{i:08d}", "E0501", 5, "深圳", "active", now) for i in range(1, n + 1)))


def _policies(raw, url, rng, n: int, project_id: int, product_id: int, period_id: int) -> None:
    start = YEAR_START.toordinal() + rng.integers(0, 273, n)  # enrolled through 2025Q1-Q3
    cancelled = rng.random(n) < 0.02
    cancel_day = start + rng.integers(20, 200, n)
    cols = ["id", "policy_number", "project_id", "product_id", "period_id", "member_id",
            "status", "enrolled_on", "cover_start", "cover_end", "premium", "age_at_start",
            "occupation_class", "coefficient", "cancelled_on", "refund", "created_at"]

    def rows():
        for i in range(n):
            s = int(start[i])
            end = s + 364
            status, cancelled_on, refund = "in_force", None, 0
            if cancelled[i] and int(cancel_day[i]) < TODAY.toordinal():
                c = int(cancel_day[i])
                covered = c - s + 1
                refund = PREMIUM_FEN - (2 * PREMIUM_FEN * covered + 365) // 730
                status, cancelled_on, end = "cancelled", date.fromordinal(c).isoformat(), c
            yield (i + 1, f"P{i + 1:010d}", project_id, product_id, period_id, i + 1, status,
                   date.fromordinal(s - 1).isoformat(), date.fromordinal(s).isoformat(),
                   date.fromordinal(end).isoformat(), PREMIUM_FEN, 30, 5, "0.2000",
                   cancelled_on, refund, "2025-01-01 00:00:00+00:00")

    _write(raw, url, "policies", cols, rows())


def _claims(raw, url, rng, policies: int, m: int, project_id: int, medical_id: int) -> None:
    """M medical claims over 2025Q1-Q3, paid 5 to 60 days after the event; those not paid
    by the end of September stay open with a case reserve."""
    policy = rng.choice(np.arange(1, policies + 1), m, replace=False)
    event = YEAR_START.toordinal() + rng.integers(0, 270, m)
    amount = rng.integers(5_000, 60_000, m)  # 50 to 600 yuan paid
    uncovered = rng.integers(0, 30_000, m)
    paid_on = event + rng.integers(5, 60, m)
    paid = paid_on <= date(2025, 9, 30).toordinal()
    now = "2025-10-01 00:00:00+00:00"
    _write(raw, url, "claim_payment_batches",
           ["id", "batch_key", "project_id", "paid_on", "claims", "total", "created_at",
            "created_by"],
           [(1, "bench:1", project_id, "2025-09-30", int(paid.sum()), int(amount[paid].sum()),
             now, 0)])

    def claim_rows():
        for i in range(m):
            ev = date.fromordinal(int(event[i])).isoformat()
            done = bool(paid[i])
            yield (i + 1, f"CL{i + 1:09d}", project_id, int(policy[i]), int(policy[i]),
                   "accident", ev, "", "", "[]", "paid" if done else "reported", ev, now, 0,
                   "approve" if done else None, 1 if done else 0,
                   date.fromordinal(int(paid_on[i])).isoformat() if done else None,
                   int(amount[i]) if done else 0, int(amount[i]) if done else 0,
                   int(uncovered[i]) if done else 0, 0 if done else int(amount[i]), 0)

    _write(raw, url, "claims",
           ["id", "claim_number", "project_id", "policy_id", "member_id", "event_type",
            "event_date", "place", "description", "circumstances", "status", "reported_on",
            "reported_at", "reported_by", "outcome", "decision_round", "decided_on",
            "approved", "paid", "uncovered_loss", "case_reserve", "appeals"], claim_rows())
    done = np.flatnonzero(paid)
    open_ = np.flatnonzero(~paid)
    _write(raw, url, "claim_payments",
           ["claim_id", "project_id", "member_id", "batch_id", "round", "amount", "paid_on"],
           ((int(i) + 1, project_id, int(policy[i]), 1, 1, int(amount[i]),
             date.fromordinal(int(paid_on[i])).isoformat()) for i in done))
    _write(raw, url, "claim_decisions",
           ["claim_id", "project_id", "round", "decided_on", "decided_at", "decided_by",
            "outcome", "engine_outcome", "engine_amount", "approved", "approved_change",
            "uncovered_loss", "auto", "overridden", "reason"],
           ((int(i) + 1, project_id, 1, date.fromordinal(int(paid_on[i])).isoformat(), now, 0,
             "approve", "approve", int(amount[i]), int(amount[i]), int(amount[i]),
             int(uncovered[i]), True, False, "") for i in done))
    _write(raw, url, "case_reserve_movements",
           ["claim_id", "project_id", "moved_on", "amount", "reason"],
           ((int(i) + 1, project_id, date.fromordinal(int(event[i]) + 1).isoformat(),
             int(amount[i]), "reported") for i in open_))


# ------------------------------------------------------------------------------ timing

BASELINE_EARNED = """
SELECT SUM(CASE WHEN p.cover_end < p.cover_start THEN 0
                WHEN :q_end >= p.cover_end THEN p.premium - p.refund
                ELSE (2 * (p.premium - p.refund) * ({d_end}) + ({span}))
                     / (2 * ({span})) END)
FROM policies p WHERE p.project_id = :pid AND p.cover_start <= :q_end
"""

# One row per eligible policy and raised benefit: its current sum insured (the base scaled by
# the coefficient, half up, plus earlier uplifts), its rate and the days left.
BASELINE_ROWS = """
SELECT e.id AS policy_id, b.id AS benefit_id, b.rate AS rate, e.c AS c, e.days AS days,
       (2 * b.base * e.c + 10000) / 20000 + COALESCE(pr.added, 0) AS si
FROM (SELECT p.id AS id, CAST(ROUND(p.coefficient * 10000) AS BIGINT) AS c,
             {days_left} AS days
      FROM policies p WHERE p.project_id = :pid AND p.cover_start <= {first}
        AND p.cover_end >= {first} AND {days_left} >= 30) e
CROSS JOIN ({benefits}) b
LEFT JOIN (SELECT policy_id, benefit_id, SUM(sum_insured_added) AS added
           FROM sum_insured_uplifts WHERE project_id = :pid AND effective_from <= {first}
           GROUP BY policy_id, benefit_id) pr
  ON pr.policy_id = e.id AND pr.benefit_id = b.id
"""

BASELINE_UPLIFT = """
INSERT INTO sum_insured_uplifts (project_id, policy_id, benefit_id, quarter, effective_from,
                                 money, sum_insured_added)
SELECT :pid, r.policy_id, r.benefit_id, :quarter, :first, r.added * r.rate * r.days
       / (r.c * 3650000), r.added
FROM (SELECT policy_id, benefit_id, rate, c, days, si * :u / 100000000 AS added
      FROM ({rows}) x) r
WHERE r.added > 0
"""


def _days(sqlite: bool, later: str, earlier: str) -> str:
    if sqlite:
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def baseline(url: str) -> tuple[float, dict]:
    """A minimal hand-written close: the totals and the uplift rows, then rolled back."""
    from sqlalchemy import text

    from mutua.db import make_engine

    sqlite = url.startswith("sqlite")
    engine = make_engine(url)
    d = (lambda s: f":{s}") if sqlite else (lambda s: f"CAST(:{s} AS DATE)")
    span = f"{_days(sqlite, 'p.cover_end', 'p.cover_start')} + 1"

    def cum(at: str) -> str:
        elapsed = f"{_days(sqlite, at, 'p.cover_start')} + 1"
        return (f"CASE WHEN p.cover_end < p.cover_start THEN 0 WHEN {at} >= p.cover_end "
                f"THEN p.premium - p.refund WHEN {at} < p.cover_start THEN 0 ELSE "
                f"(2 * (p.premium - p.refund) * ({elapsed}) + ({span})) / (2 * ({span})) END")

    params = {"pid": 1, "q_end": "2025-09-30", "q_before": "2025-06-30", "first": "2025-10-01",
              "quarter": QUARTER}
    started = time.perf_counter()
    with engine.connect() as conn:
        tx = conn.begin()
        if sqlite:  # the same page cache the close uses
            conn.exec_driver_sql("PRAGMA cache_size = -262144")
        pid = conn.execute(text("SELECT id FROM projects WHERE code = :c"), {"c": CODE}).scalar()
        params["pid"] = pid
        earned_sql = (f"SELECT SUM({cum(d('q_end'))} - ({cum(d('q_before'))})) FROM policies p "
                      f"WHERE p.project_id = :pid AND p.cover_start <= {d('q_end')}")
        earned = int(conn.execute(text(earned_sql), params).scalar())
        paid = int(conn.execute(text(
            "SELECT SUM(amount) FROM claim_payments WHERE project_id = :pid "
            f"AND paid_on >= {d('q_start')} AND paid_on <= {d('q_end')}"),
            dict(params, q_start="2025-07-01")).scalar() or 0)
        case = int(conn.execute(text("SELECT SUM(amount) FROM case_reserve_movements "
                                     f"WHERE project_id = :pid AND moved_on <= {d('q_end')}"),
                                params).scalar() or 0)
        expenses = int(earned * 0.15)
        surplus = earned - paid - case - expenses
        pot = int(surplus * 0.8 * 0.7)
        raised = conn.execute(text(
            "SELECT b.id, b.code, b.base_sum_insured, b.pure_risk_rate, "
            "b.shares_sum_insured_with FROM benefits b JOIN products pr ON pr.id = b.product_id "
            "WHERE pr.project_id = :pid AND b.daily_amount IS NULL"), params).all()
        follows = {}
        for _bid, _code, _base, rate, root in raised:
            if root:
                follows[root] = follows.get(root, 0) + int(Decimal(str(rate)) * 10**8)
        union = " UNION ALL ".join(
            f"SELECT {bid} AS id, {int(base)} AS base, "
            f"{int(Decimal(str(rate)) * 10**8) + follows.get(code, 0)} AS rate"
            for bid, code, base, rate, root in raised if not root)
        days_left = f"({_days(sqlite, 'p.cover_end', d('first'))} + 1)"
        rows = BASELINE_ROWS.format(days_left=days_left, first=d("first"), benefits=union)
        exposure = float(conn.execute(text(
            f"SELECT SUM(CAST(si AS DOUBLE PRECISION) * rate * days / (c * 3650000.0)) "
            f"FROM ({rows}) x"), params).scalar() or 0)
        u = min(int(pot / exposure * 10**8), 50_000_000) if exposure else 0
        rows = conn.execute(text(BASELINE_UPLIFT.format(rows=rows)),
                            dict(params, u=u)).rowcount
        seconds = time.perf_counter() - started
        tx.rollback()
    engine.dispose()
    return seconds, {"earned": earned, "paid": paid, "case_reserve": case, "uplift_rows": rows}


def close(url: str) -> tuple[float, dict]:
    from mutua.auth.security import SYSTEM
    from mutua.db import make_engine, unit_of_work
    from mutua.settlement import service

    engine = make_engine(url)
    started = time.perf_counter()
    with unit_of_work(engine) as db:
        statement = service.close_quarter(db, project_code=CODE, quarter=QUARTER, actor=SYSTEM,
                                          today=TODAY)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, statement


def _url(args, policies: int | None = None) -> str:
    """The benchmark's database; with several sizes, one per size (named after it)."""
    from sqlalchemy.engine import make_url

    if args.db == "sqlite":
        url = args.url or "sqlite:///var/bench/settle.db"
        return url if policies is None else url.replace(".db", f"-{policies}.db")
    url = args.url or os.environ.get("MUTUA_BENCH_POSTGRES_URL") or DEFAULT_PG
    if policies is None:
        return url
    u = make_url(url)
    return u.set(database=f"{u.database}_{policies}").render_as_string(hide_password=False)


def _open_for_close(url: str) -> bool:
    from sqlalchemy import text

    from mutua.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT COUNT(*) FROM projects p LEFT JOIN settlement_closes c "
                "ON c.project_id = p.id AND c.quarter = :q WHERE p.code = :code "
                "AND c.id IS NULL"), {"q": QUARTER, "code": CODE}).scalar() == 1
    except Exception:  # no schema yet
        return False
    finally:
        engine.dispose()


def _pristine(url: str) -> Path | None:
    """SQLite keeps a copy of the database as built, so --reuse can start again from it."""
    if not url.startswith("sqlite"):
        return None
    return Path(url.split("///", 1)[-1] + ".pristine")


def _admin(url: str):
    from sqlalchemy.engine import make_url

    from mutua.db import make_engine

    u = make_url(url)
    return u.database, make_engine(u.set(database="postgres").render_as_string(
        hide_password=False), isolation_level="AUTOCOMMIT")


def _ensure_pg_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database if the server lacks it."""
    from sqlalchemy import text

    name, admin = _admin(url)
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _pg_pristine(url: str, *, save: bool) -> bool:
    """PostgreSQL's copy of the database as built is a template database (``NAME_pristine``):
    ``save`` makes it after a build; otherwise the database is made again from it, if it
    exists (True)."""
    from sqlalchemy import text

    name, admin = _admin(url)
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": f"{name}_pristine"}).scalar()
            if save:
                if exists:
                    conn.execute(text(f'DROP DATABASE "{name}_pristine"'))
                conn.execute(text(f'CREATE DATABASE "{name}_pristine" TEMPLATE "{name}"'))
                return True
            if not exists:
                return False
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{name}_pristine"'))
            return True
    finally:
        admin.dispose()


def measure(args, url: str, policies: int, claims: int) -> dict:
    """Build (or reuse) one size, then time the baseline and the close on it."""
    if args.db == "postgres":
        _ensure_pg_database(url)
    build_seconds = None
    pristine = _pristine(url)
    if args.reuse and not pristine and _open_for_close(url):
        pass  # PostgreSQL: built before and the timed quarter not closed yet
    elif args.reuse and not pristine and _pg_pristine(url, save=False):
        pass  # PostgreSQL: made again from its copy as built
    elif args.reuse and pristine and pristine.exists():
        for suffix in ("-wal", "-shm"):
            Path(str(pristine.with_suffix("")) + suffix).unlink(missing_ok=True)
        shutil.copy(pristine, pristine.with_suffix(""))  # the database as built, not closed
    else:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "benchmarks", "settle", "--build-only",
                        "--policies", str(policies), "--claims", str(claims),
                        "--db", args.db, "--url", url], check=True)
        build_seconds = round(time.perf_counter() - started, 1)
        if pristine and args.keep:
            shutil.copy(pristine.with_suffix(""), pristine)
        elif args.keep:
            _pg_pristine(url, save=True)
    if args.uplifts_by_quarter:
        from benchmarks import _uplifts_by_quarter

        _uplifts_by_quarter.convert(url)
    base_seconds, base = baseline(url)
    seconds, statement = close(url)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "db": args.db, "policies": policies, "claims": claims,
        "uplifts_by_quarter": args.uplifts_by_quarter,
        "seconds": round(seconds, 2), "baseline_seconds": round(base_seconds, 2),
        "ratio": round(seconds / base_seconds, 2), "peak_memory_mb": round(peak_mb, 1),
        "build_seconds": build_seconds,
        "totals_match": (statement.get("rerun") is not None or (
            Decimal(statement["earned_premium"]) == Decimal(base["earned"]) / 100
            and Decimal(statement["claims_paid"]) == Decimal(base["paid"]) / 100)),
        "uplift_rows": base["uplift_rows"],
        "earned_premium": statement["earned_premium"], "surplus": statement["surplus"],
        "distributable": statement["distributable"],
        "policies_uplifted": statement["policies_uplifted"],
        "sum_insured_added": statement["sum_insured_added"],
        "uplift_rate": statement.get("uplift_rate"),
        "uplift_carried": statement.get("uplift_carried"),
        "claims_payable": statement.get("claims_payable"),
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks settle", description=__doc__.split("\n")[0])
    p.add_argument("--policies", type=int, default=100_000)
    p.add_argument("--claims", type=int, default=5_000)
    p.add_argument("--sizes", help="several pool sizes in one run, smallest first (e.g. "
                   "1000000,10000000), one database each, claims one per 20 policies: the "
                   "peak memory printed after each shows whether it grows with the pool")
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--url")
    p.add_argument("--reuse", action="store_true", help="keep a database built before")
    p.add_argument("--keep", action="store_true", default=None,
                   help="keep a copy of the database as built for --reuse (a file next to "
                        "SQLite's, a NAME_pristine template database on PostgreSQL); "
                        "default: on SQLite only")
    p.add_argument("--chunk", type=int, help="policy ids the close reads at a time "
                   "(default mutua.settlement.uplift.CHUNK_POLICIES)")
    p.add_argument("--uplifts-by-quarter", action="store_true",
                   help="PostgreSQL: close with sum_insured_uplifts partitioned by quarter "
                        "(an experiment: benchmarks/_uplifts_by_quarter.py)")
    p.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.keep is None:
        args.keep = args.db == "sqlite"
    if args.uplifts_by_quarter and args.db != "postgres":
        p.error("--uplifts-by-quarter is PostgreSQL's (SQLite has no partitioning)")
    if args.chunk:
        from mutua.settlement import uplift

        uplift.CHUNK_POLICIES = args.chunk
    if args.build_only:
        build(_url(args), args.policies, args.claims)
        return 0
    if args.sizes:
        runs = [measure(args, _url(args, n), n, n // 20)
                for n in (int(x) for x in args.sizes.split(","))]
    else:
        runs = [measure(args, _url(args), args.policies, args.claims)]
    if args.json:
        print(json.dumps(runs if args.sizes else runs[0]))
    else:
        for out in runs:
            for k, v in out.items():
                print(f"{k:>20}: {v}")
            print()
    return 0
