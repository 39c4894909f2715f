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
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.http_load import demo_database, machine, plan

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
        best["enrol"] = await _enrolments(client, url, enrolments, rounds)
    app.state.engine.dispose()
    return best


async def _enrolments(client, url: str, per_round: int, rounds: int) -> float:
    """The best round's time per enrolment, each enrolling a member not yet in the product."""
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
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            await enrol_next()
        best = min(best, (time.perf_counter() - start) / per_round)
    return best


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
        best = asyncio.run(measure(url, args.requests, args.rounds, args.enrolments))
    result = {"benchmark": "request_cost", "db": args.db, "date": date.today().isoformat(),
              "machine": machine(), "requests_per_round": args.requests, "rounds": args.rounds,
              "ms_per_request": {k: round(v * 1000, 3) for k, v in best.items()},
              "read_share_of_trivial": round(best["trivial"] / best["policy_list"], 3)}
    if args.json:
        print(json.dumps(result))
    else:
        for name, ms in result["ms_per_request"].items():
            print(f"{name:<12} {ms:>8.3f} ms per request (best of {args.rounds} rounds)")
        print(f"policy list / trivial rate: {result['read_share_of_trivial']:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
