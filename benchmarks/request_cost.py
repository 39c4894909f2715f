"""What one request costs in the server itself, one after another (no load generator).

    python -m benchmarks request_cost --db sqlite --json
    python -m benchmarks request_cost --db postgres --url postgresql+psycopg://.../mutua_bench --json

Builds a small demo mutual (as http_load does), then sends the trivial endpoint
(``GET /healthz``) and a member's policy list (``GET /api/v1/policies/mine``) through the app in
this process (``httpx.ASGITransport``: routing, dependencies, the database, serialisation; no
sockets), ``--requests`` at a time for ``--rounds`` rounds, and keeps each one's best round,
which a busy machine disturbs least. The ratio of the two is the read share before any
concurrency: http_load shows what 32 clients on the same cores make of it.

It also times enrolments (``POST /api/v1/policies`` by the underwriter, each a new member:
``--enrolments`` a round). A request's cost bounds what a server can answer: with C cores
free for it, at most C / cost requests a second, so N clients wait at least N x cost / C.
What an enrolment asks, averaged over its timed rounds (``enrol_cost``), is steadier on a
shared machine than its time: the statements it sends, the round trips to the database
(statements, plus BEGIN and COMMIT or ROLLBACK of each transaction, plus the liveness ping
of each connection taken from the pool), the trips to the thread pool, the CPU time of this
process (app and client) and, on PostgreSQL, of the database backends serving it (read
from /proc, so the server must run on this machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from benchmarks.http_load import demo_database, machine, plan


def run_in_own_loop(coroutine):
    """``asyncio.run`` in a thread of its own: the calling thread may already hold a running
    loop (a notebook, or a test worker where Playwright's sync API is started), in which
    ``asyncio.run`` refuses to start. The CPU figures are the process's, so the same."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()

PATHS = {"trivial": "/healthz", "policy_list": "/api/v1/policies/mine"}


async def measure(url: str, requests: int, rounds: int, enrolments: int) -> dict[str, float]:
    import httpx
    from sqlalchemy import text

    from mutua.demo.builder import DEMO_PASSWORD
    from mutua.settings import Settings
    from mutua.web.app import create_app

    app = create_app(Settings(database_url=url))
    with app.state.engine.connect() as conn:
        login = conn.scalar(text("SELECT username FROM users WHERE role = 'member' LIMIT 1"))
    best: dict[str, float] = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://bench") as client:
        token = (await client.post("/api/v1/auth/token", data={
            "username": login, "password": DEMO_PASSWORD})).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for name, path in PATHS.items():
            for _ in range(30):  # warm the pool and the statement caches
                assert (await client.get(path, headers=headers)).status_code == 200
            for _ in range(rounds):
                start = time.perf_counter()
                for _ in range(requests):
                    await client.get(path, headers=headers)
                per = (time.perf_counter() - start) / requests
                best[name] = min(best.get(name, per), per)
        best["enrol"], cost = await _enrolments(client, app.state.engine, url, enrolments, rounds)
    app.state.engine.dispose()
    return best, cost


async def _enrolments(client, engine, url: str, per_round: int,
                      rounds: int) -> tuple[float, dict[str, float]]:
    """The best round's time per enrolment, each enrolling a member not yet in the product,
    and what one enrolment asks on average over the timed rounds (``Asked``)."""
    from mutua.demo.builder import DEMO_PASSWORD

    setup = plan(url, per_round * (rounds + 1))
    ids = iter(setup["enrol_ids"])
    token = (await client.post("/api/v1/auth/token", data={
        "username": "underwriter", "password": DEMO_PASSWORD})).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    async def enrol_next() -> None:
        body = {"product_code": setup["product"], "period_code": setup["period"],
                "member_id": next(ids)}
        response = await client.post("/api/v1/policies", headers=headers, json=body)
        assert response.status_code == 201, response.text

    best = float("inf")
    for _ in range(per_round):  # warm-up: the first round of members
        await enrol_next()
    with Asked(engine) as asked:
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(per_round):
                await enrol_next()
            best = min(best, (time.perf_counter() - start) / per_round)
    return best, asked.per(per_round * rounds)


class Asked:
    """Counts what the requests inside it ask of the database and the thread pool."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.counts: Counter[str] = Counter()

    def __enter__(self) -> Asked:
        from anyio import to_thread
        from sqlalchemy import event

        self._backends = self._backend_pids()  # before counting: its query is not an enrolment's
        self._listeners = [(self.engine, "before_cursor_execute", self._statement),
                           (self.engine, "begin", self._begin),
                           (self.engine.pool, "checkout", self._checkout)]
        for target, name, fn in self._listeners:
            event.listen(target, name, fn)
        self._run_sync = to_thread.run_sync

        async def counted(*args, **kwargs):
            self.counts["thread_trips"] += 1
            return await self._run_sync(*args, **kwargs)

        to_thread.run_sync = counted  # Starlette and mutua.deps both call it by this name
        count_pings(self.engine, self.counts)
        self._server_cpu = _cpu_seconds(self._backends)
        self._app_cpu = time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        from anyio import to_thread
        from sqlalchemy import event

        self.counts["app_cpu_s"] = time.process_time() - self._app_cpu
        if self._backends:
            self.counts["server_cpu_s"] = _cpu_seconds(self._backends) - self._server_cpu
        to_thread.run_sync = self._run_sync
        uncount_pings(self.engine)
        for target, name, fn in self._listeners:
            event.remove(target, name, fn)

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.counts["statements"] += 1

    def _begin(self, conn) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self.counts["transactions"] += 1

    def _checkout(self, dbapi_conn, record, proxy) -> None:
        self.counts["pool_checkouts"] += 1

    def _backend_pids(self) -> list[int]:
        """The PostgreSQL backends of this database's pool (warm by now); none on SQLite."""
        from sqlalchemy import text

        if self.engine.dialect.name != "postgresql":
            return []
        with self.engine.connect() as conn:
            return list(conn.scalars(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend'")))

    def per(self, enrolments: int) -> dict[str, float]:
        c = self.counts
        out = {"statements": c["statements"], "transactions": c["transactions"],
               "round_trips": c["statements"] + 2 * c["transactions"] + c["pings"],
               "pool_checkouts": c["pool_checkouts"], "pings": c["pings"],
               "thread_trips": c["thread_trips"]}
        out = {k: round(v / enrolments, 2) for k, v in out.items()}
        out["app_cpu_ms"] = round(c["app_cpu_s"] * 1000 / enrolments, 2)
        if "server_cpu_s" in c:
            out["server_cpu_ms"] = round(c["server_cpu_s"] * 1000 / enrolments, 2)
        return out


def count_pings(engine, counts: Counter[str]) -> None:
    """Count in ``counts["pings"]`` each ping ``mutua.db.ping_when_idle`` sends on ``engine``'s
    connections (it asks the dialect's ``do_ping``, here wrapped) until :func:`uncount_pings`."""
    ping = engine.dialect.do_ping

    def pinged(dbapi_connection):
        counts["pings"] += 1
        return ping(dbapi_connection)

    engine.dialect.do_ping = pinged


def uncount_pings(engine) -> None:
    del engine.dialect.do_ping  # the dialect's own method again


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes (Linux /proc; a process gone counts 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks request_cost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", help="PostgreSQL URL (emptied first)")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--enrolments", type=int, default=40, help="enrolments a round")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mutua-cost-") as tmp:
        url = demo_database(args.db, args.url, Path(tmp), args.members)
        load = os.getloadavg()
        best, cost = run_in_own_loop(measure(url, args.requests, args.rounds, args.enrolments))
    result = {"benchmark": "request_cost", "db": args.db, "date": date.today().isoformat(),
              "machine": machine(), "requests_per_round": args.requests, "rounds": args.rounds,
              "ms_per_request": {k: round(v * 1000, 3) for k, v in best.items()},
              "read_share_of_trivial": round(best["trivial"] / best["policy_list"], 3),
              "enrol_cost": cost,
              "load_average": [round(x, 2) for x in (*load, *os.getloadavg())]}
    if args.json:
        print(json.dumps(result))
    else:
        for name, ms in result["ms_per_request"].items():
            print(f"{name:<12} {ms:>8.3f} ms per request (best of {args.rounds} rounds)")
        print(f"policy list / trivial rate: {result['read_share_of_trivial']:.0%}")
        print("one enrolment asks: " + ", ".join(f"{k} {v}" for k, v in cost.items()))
        print("load average before and after (1, 5, 15 min): "
              + " ".join(str(x) for x in result["load_average"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
