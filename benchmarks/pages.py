"""Server time of the busiest pages on a demo database: a member's home, the dashboard, a
kidney patient's health page (the member with the longest history) and others.

    python -m benchmarks pages --url sqlite:///var/mutua.db --json
    python -m benchmarks pages --build 20000 --json      # build a fresh demo in a temp dir

Signs in through the real form as the demo's first member login and as ``finance``, then
times each page ``--runs`` times in this process (server time: from the app receiving the
request to the last byte of its answer, measured around the ASGI app, no network) and
prints the median, the 95th percentile and the slowest, in milliseconds. The target is
under 200 ms; this prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

PAGES = {"member_home": ("member", "/me"), "staff_dashboard": ("finance", "/staff"),
         "member_statements": ("member", "/me/statements"),
         "claims_queue": ("claims", "/staff/claims"),
         "reserving": ("actuary", "/staff/actuarial"),
         "ledger_and_expenses": ("finance", "/staff/finance"),
         "kidney_patients": ("admin", "/staff/care/patients"),
         "meetings": ("secretary", "/staff/meetings"),
         "kidney_health": ("kidney", "/me/health")}  # target 300 ms (issue 20.9)


def _build(members: int, folder: Path) -> str:
    from mutua.db import Base, load_all_models, make_engine
    from mutua.demo import builder

    url = f"sqlite:///{folder / 'demo.db'}"
    load_all_models()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    builder.build(url=url, members=members, fresh=False)
    return url


class ServerClock:
    """ASGI wrapper: how long the app took over the last request, in milliseconds."""

    def __init__(self, app):
        self.app = app
        self.last_ms = 0.0

    async def __call__(self, scope, receive, send):
        start = time.perf_counter()
        await self.app(scope, receive, send)
        self.last_ms = (time.perf_counter() - start) * 1000


def _client(url: str, login: str, password: str):
    from fastapi.testclient import TestClient

    from mutua.settings import Settings
    from mutua.web.app import create_app

    clock = ServerClock(create_app(Settings(database_url=url, login_attempts_per_minute=1000)))
    client = TestClient(clock)
    client.clock = clock
    page = client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post("/signin", data={"csrf_token": token, "login": login,
                                          "password": password}, follow_redirects=False)
    if answer.status_code != 303:
        raise SystemExit(f"could not sign in as {login}: HTTP {answer.status_code}")
    return client


def _member_login(url: str) -> str:
    from sqlalchemy import select

    from mutua.auth.models import User
    from mutua.db import make_engine, session_factory

    engine = make_engine(url)
    with session_factory(engine)() as db:
        login = db.scalar(select(User.username).where(User.role == "member")
                          .order_by(User.id).limit(1))
    engine.dispose()
    return login


def _kidney_login(url: str) -> str:
    """The member sign-in with the longest kidney history: the heaviest /me/health."""
    from sqlalchemy import func, select

    from mutua.auth.models import User
    from mutua.db import make_engine, session_factory
    from mutua.health.models import Observation

    engine = make_engine(url)
    with session_factory(engine)() as db:
        login = db.scalar(select(User.username).join(Observation,
                                                     Observation.member_id == User.member_id)
                          .group_by(User.username).order_by(func.count().desc()).limit(1))
    engine.dispose()
    return login


def measure(url: str, runs: int) -> dict:
    from mutua.demo.builder import DEMO_PASSWORD

    logins = {"member": _member_login(url), "finance": "finance", "claims": "claims",
              "actuary": "actuary", "admin": "admin", "secretary": "secretary",
              "kidney": _kidney_login(url)}
    clients = {who: _client(url, login, DEMO_PASSWORD) for who, login in logins.items()}
    out = {}
    for name, (who, path) in PAGES.items():
        client = clients[who]
        client.get(path)  # warm: templates compiled, caches filled
        times = []
        for _ in range(runs):
            response = client.get(path)
            times.append(client.clock.last_ms)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered HTTP {response.status_code}")
        times.sort()
        out[name] = {"path": path, "median_ms": round(statistics.median(times), 1),
                     "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
                     "max_ms": round(times[-1], 1), "runs": runs}
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks pages")
    parser.add_argument("--url", help="a database the demo was built in")
    parser.add_argument("--build", type=int, metavar="MEMBERS",
                        help="build a fresh demo of this many members in a temp dir first")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = args.url
        build_seconds = None
        if args.build:
            start = time.perf_counter()
            url = _build(args.build, Path(folder))
            build_seconds = round(time.perf_counter() - start, 1)
        if not url:
            parser.error("give --url or --build")
        result = {"url": url.split("///")[0], "build_seconds": build_seconds,
                  "target_ms": 200, "pages": measure(url, args.runs)}
    if args.json:
        print(json.dumps(result))
    else:
        for name, r in result["pages"].items():
            print(f"{name:20} median {r['median_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms   "
                  f"max {r['max_ms']:7.1f} ms   ({r['path']})")
    return 0
