"""HTTP under load: the server as shipped, a real load generator (wrk), 32 concurrent clients.

    python -m benchmarks http_load --db sqlite --json
    python -m benchmarks http_load --db postgres --url postgresql+psycopg://.../mutua_bench --json

Builds a small demo mutual (``mutua demo``'s members, policies and logins), starts ``mutua
serve`` on a free 127.0.0.1 port with ``--workers`` processes (a socket each), signs in the
demo's member logins and its underwriter, then drives three scenarios with wrk (Debian
package ``wrk``), each bounded in time (``--seconds``) and the enrolment one in count as well
(each member enrols once, then its thread stops):

- ``trivial``: ``GET /healthz`` (one ``SELECT 1``), the ceiling of this server and stack;
- ``policy_list``: ``GET /api/v1/policies/mine`` as the demo's members, round robin;
- ``enrol``: ``POST /api/v1/policies`` by the underwriter for members not yet enrolled in the
  product on sale (each a new policy, its premium posted to the books, audited).

Prints p50/p90/p99/max latency and throughput per scenario, and the read throughput as a share
of the trivial one. Traffic goes to 127.0.0.1 only. PostgreSQL uses --url, else
MUTUA_BENCH_POSTGRES_URL, else the local server's ``mutua_ops_bench`` (emptied first).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5433/mutua_ops_bench"
TARGET_P99_MS = 50.0  # the policy list at 32 clients
TARGET_ENROL_P99_MS = 100.0  # an enrolment at 32 clients (issue 17, PostgreSQL)
TARGET_READ_SHARE = 0.30


# ------------------------------------------------------------------------------ setup


def build_demo(url: str, members: int) -> None:
    """The demo's members, policies and logins (its core steps), in a child process."""
    code = ("import sys; from mutua.demo import builder; "
            "builder.build(members=int(sys.argv[1]), url=sys.argv[2], fresh=True, domain_steps=())")
    subprocess.run([sys.executable, "-c", code, str(members), url], check=True,
                   stdout=subprocess.DEVNULL, timeout=1800)


def demo_database(db: str, url: str | None, folder: Path, members: int) -> str:
    """The URL of a demo mutual built fresh: a SQLite file in ``folder``, or the PostgreSQL
    database at ``url`` (else MUTUA_BENCH_POSTGRES_URL, else DEFAULT_PG), emptied first."""
    if db == "sqlite":
        url = f"sqlite:///{folder / 'mutua.db'}"
    else:
        url = url or os.environ.get("MUTUA_BENCH_POSTGRES_URL") or DEFAULT_PG
        _ensure_pg_database(url)
    build_demo(url, members)
    return url


def plan(url: str, enrol_max: int) -> dict:
    """Who signs in, and which members the underwriter can enrol in the product on sale."""
    from sqlalchemy import select

    from mutua.auth.models import User
    from mutua.catalog import service as catalog_service
    from mutua.catalog.models import Product, SalePeriod
    from mutua.dates import today
    from mutua.db import make_engine, unit_of_work
    from mutua.members.models import Member
    from mutua.policies import service as policies_service
    from mutua.policies.models import Policy

    engine = make_engine(url)
    on = today()
    with unit_of_work(engine) as db:
        logins = list(db.scalars(select(User.username).where(User.role == "member")))
        periods = db.execute(
            select(Product, SalePeriod).join(SalePeriod, SalePeriod.product_id == Product.id)
            .where(SalePeriod.sale_start <= on, SalePeriod.sale_end >= on)
            .order_by(Product.min_age, Product.id)).all()
        best: tuple = ()
        for product, period in periods:
            held = select(Policy.member_id).where(Policy.product_id == product.id,
                                                  Policy.period_id == period.id)
            candidates = list(db.scalars(select(Member).where(Member.id.not_in(held))
                                         .order_by(Member.id).limit(enrol_max * 3)))
            cells = catalog_service.table_cells(db, table_id=period.coefficient_table_id)
            eligible = [m.id for m in candidates if not policies_service.quote(
                db, member=m, product=product, period=period, on=on, cells=cells).problems]
            if len(eligible) > len(best[2] if best else []):
                best = (product.code, period.code, eligible[:enrol_max])
            if len(eligible) >= enrol_max:
                break
    engine.dispose()
    if not best:
        raise SystemExit("the demo has no product on sale today")
    return {"member_logins": logins, "product": best[0], "period": best[1], "enrol_ids": best[2]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, workers: int, request_threads: int) -> subprocess.Popen:
    env = {**os.environ, "MUTUA_DATABASE_URL": url, "MUTUA_LOGIN_ATTEMPTS_PER_MINUTE": "100000",
           "MUTUA_REQUEST_THREADS": str(request_threads)}
    proc = subprocess.Popen(  # the server as shipped: `mutua serve`
        [sys.executable, "-c", "from mutua.cli import main; main()", "serve",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    return _answering(proc, f"http://127.0.0.1:{port}", "mutua serve")


def _answering(proc: subprocess.Popen, base: str, name: str) -> subprocess.Popen:
    """``proc`` once ``base`` answers /healthz (else it is stopped and the run ends)."""
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    stop_server(proc)
    raise SystemExit(f"{name} did not answer /healthz within 60 s")


NGINX_CONF = """
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log;
daemon off;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  upstream mutua {{ least_conn; {servers} keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://mutua;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }}
  }}
}}
"""


@contextmanager
def served(url: str, args, workdir: Path) -> Iterator[tuple[str, subprocess.Popen | None]]:
    """The server under test, and its base URL: ``mutua serve --workers N`` (a socket a
    worker, the kernel dealing out connections), or with ``--balancer nginx`` N single-worker
    servers behind one nginx worker whose ``least_conn`` sends each request to the server
    with the fewest in hand (docs/operations.md, section 3). Also yields the process whose
    workers hold the client connections, None behind nginx."""
    if args.balancer == "none":
        port = free_port()
        server = start_server(url, port, args.workers, args.request_threads)
        try:
            yield f"http://127.0.0.1:{port}", server
        finally:
            stop_server(server)
        return
    servers: list[subprocess.Popen] = []
    try:
        ports = []
        for _ in range(args.workers):
            ports.append(free_port())
            servers.append(start_server(url, ports[-1], 1, args.request_threads))
        port = free_port()
        conf = workdir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(
            folder=workdir, port=port,
            servers=" ".join(f"server 127.0.0.1:{p};" for p in ports)))
        servers.append(_answering(subprocess.Popen(
            ["nginx", "-c", str(conf), "-p", str(workdir)], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True), f"http://127.0.0.1:{port}", "nginx"))
        yield f"http://127.0.0.1:{port}", None
    finally:
        for server in reversed(servers):
            stop_server(server)


def stop_server(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def sign_in(base: str, username: str, password: str) -> str:
    import httpx

    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": password},
                   timeout=10)
    r.raise_for_status()
    return r.json()["access_token"]


# ------------------------------------------------------------------------------ wrk

LUA_COMMON = """
local threads = {}
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
created = 0
sent = 0
done = function(summary, latency, requests)
  local made = 0
  for _, t in ipairs(threads) do made = made + (t:get("created") or 0) end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "non_2xx": %d, "socket_errors": %d, "created": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write + e.timeout, made))
end
"""


def lua_get(path: str, tokens: list[str]) -> str:
    quoted = ", ".join(f'"{t}"' for t in tokens) or '""'
    return LUA_COMMON + f"""
local tokens = {{{quoted}}}
request = function()
  sent = sent + 1
  local token = tokens[(sent % #tokens) + 1]
  if token == "" then return wrk.format("GET", "{path}") end
  return wrk.format("GET", "{path}", {{["Authorization"] = "Bearer " .. token}})
end
"""


def lua_enrol(token: str, product: str, period: str, ids: list[int], threads: int) -> str:
    id_list = ", ".join(str(i) for i in ids)
    return LUA_COMMON + f"""
local ids = {{{id_list}}}
local nthreads = {threads}
local share = math.floor(#ids / nthreads)
local headers = {{["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json"}}
request = function()
  -- A thread that has sent its share of members stops at its next response, but its other
  -- connections may still ask for a request first: they get the health check, not a second
  -- enrolment of a member (which would be a 409). A few at most, and the run is then
  -- flagged throughput_understated.
  if sent >= share then return wrk.format("GET", "/healthz") end
  local k = tid + sent * nthreads
  sent = sent + 1
  local body = '{{"product_code": "{product}", "period_code": "{period}", "member_id": ' .. ids[k] .. '}}'
  return wrk.format("POST", "/api/v1/policies", headers, body)
end
response = function(status, headers, body)
  if status == 201 then created = created + 1 end
  if sent >= share then wrk.thread:stop() end
end
"""


def run_wrk(base: str, script: str, *, seconds: int, connections: int, threads: int,
            workdir: Path, server: subprocess.Popen | None = None) -> dict:
    """One scenario; with ``server``, also how its connections sat on the workers mid-run."""
    import threading

    path = workdir / f"load-{time.monotonic_ns()}.lua"
    path.write_text(script)
    split: list[int] = []
    if server is not None:
        port = int(base.rsplit(":", 1)[1])
        timer = threading.Timer(seconds / 2, lambda: split.extend(
            connections_by_worker(server.pid, port)))
        timer.start()
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
         "-s", str(path), base],
        capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    if server is not None:
        timer.join()  # wrk runs its whole duration, so the count was taken mid-run
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    raw = json.loads(line[len("RESULT "):])
    secs = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"], "seconds": round(secs, 2),
        "throughput_rps": round(raw["requests"] / secs, 1) if secs else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 2), "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2), "max_ms": round(raw["max_us"] / 1000, 2),
        "non_2xx": raw["non_2xx"], "socket_errors": raw["socket_errors"],
        **({"created": raw["created"]} if "POST" in script else {}),
        **({"connections_by_worker": sorted(split)} if split else {}),
    }


def connections_by_worker(server_pid: int, port: int) -> list[int]:
    """How many established connections to ``port`` each process of the server holds, those
    holding none left out (Linux: /proc; empty elsewhere). A run's spread follows this split."""
    held = connections_held([server_pid, *children(server_pid)], port)
    return [n for n in held.values() if n]


def connections_held(pids, port: int) -> dict[int, int]:
    """Established connections to ``port``, counted by the process (of ``pids``) holding them."""
    try:
        tcp = Path("/proc/net/tcp").read_text().splitlines()[1:]
        tcp += Path("/proc/net/tcp6").read_text().splitlines()[1:]
    except OSError:
        return {}
    inodes = {f"socket:[{f[9]}]" for f in map(str.split, tcp)
              if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "01"}  # ESTABLISHED
    counts = {}
    for pid in pids:
        try:
            fds = Path(f"/proc/{pid}/fd")
            counts[pid] = sum(os.readlink(fds / fd) in inodes for fd in os.listdir(fds))
        except OSError:
            continue
    return counts


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux: /proc; empty elsewhere)."""
    found = []
    for child in filter(str.isdigit, os.listdir("/proc") if os.path.isdir("/proc") else ()):
        try:
            stat = Path(f"/proc/{child}/stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            found.append(int(child))
    return found


# ------------------------------------------------------------------------------ report


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem_gb = round(pages / 2**30, 1)
    except (ValueError, OSError):
        pass
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "load_generator": wrk_version.strip()}


def sweep(base: str, tokens: list[str], args, workdir: Path) -> dict:
    """The two reads at fewer clients: where on this machine the latency target holds."""
    out = {}
    for clients in sorted({int(c) for c in args.sweep.split(",") if c.strip()}):
        common = {"connections": clients, "threads": min(args.threads, clients),
                  "workdir": workdir}
        out[str(clients)] = {
            "trivial": run_wrk(base, lua_get("/healthz", []), seconds=args.seconds, **common),
            "policy_list": run_wrk(base, lua_get("/api/v1/policies/mine", tokens),
                                   seconds=args.seconds, **common),
        }
    return out


def table(result: dict) -> str:
    behind = " behind nginx least_conn" if result.get("balancer", "none") != "none" else ""
    rows = [f"HTTP load on {result['db']} ({result['workers']} uvicorn workers{behind} of "
            f"{result['request_threads']} request threads, "
            f"{result['connections']} connections, {result['members']} demo members)",
            f"{'scenario':<12} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'non-2xx':>8}"]
    for name, s in result["scenarios"].items():
        rows.append(f"{name:<12} {s['throughput_rps']:>9.1f} {s['p50_ms']:>8.2f} {s['p90_ms']:>8.2f} "
                    f"{s['p99_ms']:>8.2f} {s['non_2xx']:>8}")
    for clients, reads in result["reads_by_clients"].items():
        for name, s in reads.items():
            rows.append(f"{name + ' @' + clients:<12} {s['throughput_rps']:>9.1f} {s['p50_ms']:>8.2f} "
                        f"{s['p90_ms']:>8.2f} {s['p99_ms']:>8.2f} {s['non_2xx']:>8}")
    split = result["scenarios"]["enrol"].get("connections_by_worker")
    if split:
        rows.append(f"enrol: connections held by each worker mid-run: {split}")
    if result["scenarios"]["enrol"].get("throughput_understated"):
        rows.append("enrol: the members to enrol ran out before the scenario ended "
                    "(raise --members and --enrol-max)")
    rows.append(f"read throughput / trivial: {result['read_share_of_trivial']:.0%} "
                f"(target >= {TARGET_READ_SHARE:.0%}); p99 targets: policy list < "
                f"{TARGET_P99_MS:.0f} ms, enrol < {TARGET_ENROL_P99_MS:.0f} ms")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    from mutua.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m benchmarks http_load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", help="PostgreSQL URL (emptied first)")
    parser.add_argument("--members", type=int, default=20000,
                        help="size of the demo mutual (enough to find --enrol-max to enrol)")
    parser.add_argument("--seconds", type=int, default=15, help="length of each scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--balancer", choices=("none", "nginx"), default="none",
                        help="nginx: single-worker servers behind nginx's least_conn")
    parser.add_argument("--request-threads", type=int, default=Settings().request_threads,
                        help="threads per worker for plain-def routes (MUTUA_REQUEST_THREADS)")
    parser.add_argument("--enrol-max", type=int, default=12000,
                        help="enrolments at most (12,000 last 10 s at 1,200 a second)")
    parser.add_argument("--enrol-seconds", type=int, default=10,
                        help="length of the enrolment scenario: short enough that the members "
                             "to enrol last it, or its throughput is understated")
    parser.add_argument("--sweep", default="1,8",
                        help="other client counts at which to measure the two reads (comma list)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed: apt-get install -y wrk")
    if args.balancer == "nginx" and shutil.which("nginx") is None:
        parser.error("nginx is not installed: apt-get install -y nginx-light")

    with tempfile.TemporaryDirectory(prefix="mutua-http-") as tmp:
        workdir = Path(tmp)
        url = demo_database(args.db, args.url, workdir, args.members)
        setup = plan(url, args.enrol_max)
        with served(url, args, workdir) as (base, server):
            from mutua.demo.builder import DEMO_PASSWORD

            tokens = [sign_in(base, u, DEMO_PASSWORD) for u in setup["member_logins"]]
            underwriter = sign_in(base, "underwriter", DEMO_PASSWORD)
            common = {"connections": args.connections, "threads": args.threads, "workdir": workdir}
            run_wrk(base, lua_get("/healthz", []), seconds=3, **common)  # warm-up
            run_wrk(base, lua_get("/api/v1/policies/mine", tokens), seconds=3, **common)
            scenarios = {
                "trivial": run_wrk(base, lua_get("/healthz", []), seconds=args.seconds, **common),
                "policy_list": run_wrk(base, lua_get("/api/v1/policies/mine", tokens),
                                       seconds=args.seconds, **common),
                "enrol": run_wrk(base, lua_enrol(underwriter, setup["product"], setup["period"],
                                                 setup["enrol_ids"], args.threads),
                                 seconds=args.enrol_seconds, server=server, **common),
            }
            if scenarios["enrol"].get("created", 0) >= len(setup["enrol_ids"]) - args.threads:
                # wrk counts the whole run: members ran out before it ended
                scenarios["enrol"]["throughput_understated"] = True
            scenarios_by_clients = sweep(base, tokens, args, workdir)
    trivial = scenarios["trivial"]["throughput_rps"] or 1.0
    result = {
        "benchmark": "http_load", "db": args.db, "date": date.today().isoformat(),
        "machine": machine(), "workers": args.workers, "request_threads": args.request_threads,
        "balancer": "nginx least_conn" if args.balancer == "nginx" else "none",
        "connections": args.connections,
        "members": args.members, "member_logins": len(tokens),
        "product": setup["product"], "period": setup["period"],
        "scenarios": scenarios,
        "reads_by_clients": scenarios_by_clients,
        "read_share_of_trivial": round(scenarios["policy_list"]["throughput_rps"] / trivial, 3),
        "targets": {"p99_ms_below": TARGET_P99_MS, "enrol_p99_ms_below": TARGET_ENROL_P99_MS,
                    "read_share_at_least": TARGET_READ_SHARE},
    }
    result["targets"]["met"] = bool(
        scenarios["policy_list"]["p99_ms"] < TARGET_P99_MS
        and scenarios["enrol"]["p99_ms"] < TARGET_ENROL_P99_MS
        and result["read_share_of_trivial"] >= TARGET_READ_SHARE)
    print(json.dumps(result, ensure_ascii=False) if args.json else table(result))
    return 0


def _ensure_pg_database(url: str) -> None:
    """Create the benchmark database if the server does not have it yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                           {"n": target.database}):
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
