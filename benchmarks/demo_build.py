"""Demo build throughput: `mutua demo --members N` from an empty database.

    python -m benchmarks demo_build --members 1000000 --db sqlite --json
    python -m benchmarks demo_build --members 20000 --db postgres --url postgresql+psycopg://...

Prints {"members", "seconds", "members_per_second", "policies", ...}. With --core-only the
domains' own demo steps (claims, settlement, health, governance) are left out, which measures
members, enrolments and books alone. PostgreSQL runs on the database named by --url (or
MUTUA_BENCH_POSTGRES_URL), which is emptied first.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks demo_build",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", help="PostgreSQL URL (emptied first)")
    parser.add_argument("--core-only", action="store_true",
                        help="leave out the domains' demo steps")
    parser.add_argument("--steps", help="comma-separated domain steps to run (default: all)")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from mutua.demo import builder

    with tempfile.TemporaryDirectory() as tmp:
        if args.db == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        else:
            url = args.url or os.environ.get("MUTUA_BENCH_POSTGRES_URL")
            if not url:
                parser.error("--db postgres needs --url or MUTUA_BENCH_POSTGRES_URL")
        started, cpu = time.perf_counter(), time.process_time()
        summary = builder.build(seed=args.seed, members=args.members, url=url, fresh=True,
                                progress=args.progress,
                                domain_steps=() if args.core_only else
                                tuple(args.steps.split(",")) if args.steps else None)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    result = {"members": args.members, "seconds": round(seconds, 1),
              "members_per_second": round(args.members / seconds, 1),
              "cpu_seconds": round(cpu, 1),  # this process only: the wall clock shows load too
              "policies": summary["policies"], "projects": summary["projects"],
              "db": args.db, "core_only": args.core_only,
              "domain_steps": [s for s in builder.DOMAIN_STEPS if s in summary]}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"built a demo of {args.members:,} members ({result['policies']:,} policies) in "
              f"{args.db} in {result['seconds']} s: {result['members_per_second']:,} members/s")
    return 0
