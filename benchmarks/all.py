"""`make bench`: run every benchmark on SQLite and PostgreSQL, write benchmarks/results.json.

    python -m benchmarks all [--quick] [--only settle,http_load]

Each benchmark runs in its own child process (so one's peak memory is not another's) with
``--json``; its last JSON line is kept. A benchmark that fails is recorded with its exit code
and the tail of its error output, and the others still run. PostgreSQL runs use
MUTUA_BENCH_POSTGRES_URL when set, else each benchmark's own default database on the local
server. ``--quick`` runs smaller sizes (a smoke test of the harness, not figures to quote).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("results.json")

# name -> (arguments per backend at full size, at --quick size). None: that backend does not apply.
PLAN: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "settle": {
        "sqlite": (["--policies", "1000000", "--claims", "50000", "--db", "sqlite"],
                   ["--policies", "20000", "--claims", "1000", "--db", "sqlite"]),
        "postgres": (["--policies", "1000000", "--claims", "50000", "--db", "postgres"],
                     ["--policies", "20000", "--claims", "1000", "--db", "postgres"]),
    },
    "import_members": {
        "sqlite": (["--rows", "100000", "--db", "sqlite"], ["--rows", "5000", "--db", "sqlite"]),
        "postgres": (["--rows", "100000", "--db", "postgres"], ["--rows", "5000", "--db", "postgres"]),
    },
    "ingest": {
        "sqlite": (["--observations", "1000000"], ["--observations", "20000"]),
        "postgres": (["--observations", "1000000", "--database-url", "{pg}"],
                     ["--observations", "20000", "--database-url", "{pg}"]),
    },
    "http_load": {
        "sqlite": (["--db", "sqlite"], ["--db", "sqlite", "--members", "1000", "--seconds", "3"]),
        "postgres": (["--db", "postgres"], ["--db", "postgres", "--members", "1000", "--seconds", "3"]),
    },
    "request_cost": {
        "sqlite": (["--db", "sqlite"], ["--db", "sqlite", "--members", "500", "--rounds", "3"]),
        "postgres": (["--db", "postgres", "--url", "{pg}"],
                     ["--db", "postgres", "--url", "{pg}", "--members", "500", "--rounds", "3"]),
    },
    "demo_build": {
        "sqlite": (["--members", "20000", "--db", "sqlite"], ["--members", "2000", "--db", "sqlite"]),
        "postgres": (["--members", "20000", "--db", "postgres", "--url", "{pg}"],
                     ["--members", "2000", "--db", "postgres", "--url", "{pg}"]),
    },
    "pages": {"sqlite": (["--build", "20000"], ["--build", "2000", "--runs", "5"])},
    "audit_partitions": {"postgres": (["--rows", "2000000", "--url", "{pg}"],
                                      ["--rows", "20000", "--url", "{pg}"])},
}
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5433/mutua_bench"


def available() -> list[str]:
    from benchmarks.__main__ import names

    return [n for n in names() if n != "all"]


def run_one(name: str, args: list[str], timeout: int) -> dict:
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks", name, *args, "--json"],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout} s"}
    seconds = round(time.perf_counter() - started, 1)
    result = None
    for line in reversed(proc.stdout.strip().splitlines()):
        try:
            result = json.loads(line)
            break
        except json.JSONDecodeError:
            continue
    if proc.returncode != 0 or result is None:
        return {"ok": False, "exit_code": proc.returncode, "wall_seconds": seconds,
                "error": (proc.stderr or proc.stdout)[-1500:]}
    return {"ok": True, "wall_seconds": seconds, "result": result}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks all", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: check the harness only")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per benchmark run")
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--json", action="store_true", help="print the results file's content")
    args = parser.parse_args(argv)
    pg = os.environ.get("MUTUA_BENCH_POSTGRES_URL", DEFAULT_PG)
    wanted = [n for n in available() if not args.only or n in args.only.split(",")]
    runs = []
    for name in wanted:
        plan = PLAN.get(name, {"sqlite": ([], []), "postgres": ([], [])})
        for backend in args.backends.split(","):
            if backend not in plan:
                continue
            full, quick = plan[backend]
            bench_args = [a.replace("{pg}", pg) for a in (quick if args.quick else full)]
            print(f"-> {name} on {backend}: {' '.join(bench_args)}", file=sys.stderr, flush=True)
            outcome = run_one(name, bench_args, args.timeout)
            runs.append({"benchmark": name, "backend": backend, "args": bench_args, **outcome})
            print(f"   {'ok' if outcome['ok'] else 'FAILED'} in {outcome.get('wall_seconds', '?')} s",
                  file=sys.stderr, flush=True)
    doc = {"made_at": datetime.now(UTC).isoformat(timespec="seconds"), "quick": args.quick,
           "machine": {"cpu": _cpu(), "cores": os.cpu_count(), "python": platform.python_version(),
                       "os": f"{platform.system()} {platform.release()}"},
           "runs": runs}
    Path(args.output).write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, ensure_ascii=False))
    print(f"wrote {args.output}: {sum(r['ok'] for r in runs)} of {len(runs)} runs ok", file=sys.stderr)
    return 0 if all(r["ok"] for r in runs) else 1


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
