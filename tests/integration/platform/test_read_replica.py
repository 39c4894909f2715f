"""Reports read from a streaming replica (MUTUA_READ_DATABASE_URL), and say so.

The fixture makes a throwaway PostgreSQL primary and a real streaming standby of it
(``pg_basebackup -R``, a second port) from the PostgreSQL binaries on this machine, and
stops both at the end. The trial balance is read on the standby while it keeps up; with
its replay paused (``pg_wal_replay_pause()``) it falls behind: within
``read_max_lag_seconds`` the answer is the standby's, marked stale by how far it is behind;
beyond it the report is read on the primary.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

pytestmark = pytest.mark.slow

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*args: str) -> None:
    """A PostgreSQL program, as the postgres user when the tests run as root (initdb refuses
    root)."""
    command = list(args)
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def primary_and_standby():
    if not PG_BIN or shutil.which("pg_ctl", path=PG_BIN[-1]) is None:
        pytest.skip("the PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are absent")
    binary = PG_BIN[-1]
    # not under pytest's tmp folder: the postgres user cannot reach into root's
    root = Path(tempfile.mkdtemp(prefix="mutua-replica-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    primary, standby = root / "primary", root / "standby"
    ports = _free_port(), _free_port()
    # -A trust: initdb's pg_hba.conf then also lets 127.0.0.1 connect for replication
    _run(f"{binary}/initdb", "-D", str(primary), "-A", "trust", "-U", "postgres")
    started = []

    def start(data, port):
        _run(f"{binary}/pg_ctl", "-D", str(data), "-l", str(root / f"{port}.log"), "-w", "-o",
             f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        started.append(data)

    try:
        start(primary, ports[0])
        _run(f"{binary}/pg_basebackup", "-h", "127.0.0.1", "-p", str(ports[0]), "-U", "postgres",
             "-D", str(standby), "-R", "-X", "stream")
        start(standby, ports[1])
        yield tuple(f"postgresql+psycopg://postgres@127.0.0.1:{p}/postgres" for p in ports)
    finally:
        for data in reversed(started):
            _run(f"{binary}/pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _caught_up(standby_url: str, committed: str) -> None:
    """Wait until the standby shows what the primary committed: ``committed`` is a query
    that is true there once the commit was replayed.

    Not by comparing WAL positions: the primary's write position can stop at a page
    boundary in the middle of a record (autovacuum's, say) whose tail nothing flushes until
    the background writer's next snapshot, up to 15 s later, and a standby never replays
    past a record it has not whole. A synchronous commit is flushed, so the standby always
    reaches it.
    """
    standby = create_engine(standby_url, isolation_level="AUTOCOMMIT")
    try:
        with standby.connect() as s:
            for _ in range(1200):  # a minute at most, for a loaded CI machine
                try:
                    if s.scalar(text(committed)):
                        return
                except ProgrammingError:  # its tables are not there yet
                    pass
                time.sleep(0.05)
            where = s.execute(text(
                "SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(),"
                " pg_get_wal_replay_pause_state()")).one()
        raise AssertionError(f"the standby did not show the commit in a minute: "
                             f"received, replayed, pause = {tuple(where)}")
    finally:
        standby.dispose()


def test_reports_read_on_the_replica_and_say_how_stale(primary_and_standby, tmp_path):
    from fastapi.testclient import TestClient

    from mutua.auth.roles import Role
    from mutua.db import make_engine, unit_of_work
    from mutua.demo import builder
    from mutua.ledger import domain as L
    from mutua.ledger import service as ledger
    from mutua.settings import Settings
    from mutua.web.app import create_app
    from tests import factories as f

    primary_url, standby_url = primary_and_standby
    builder.create_schema(primary_url)
    engine = make_engine(primary_url)
    with unit_of_work(engine) as db:
        project_id = f.accident_project(db).project_id
        f.staff(db, Role.FINANCE, username="finance")

    def premium(db, amount):
        from mutua.dates import today

        ledger.post(db, L.JournalEntry.of(project_id=project_id, entry_date=today(),
                                          kind="premium", memo="m",
                                          postings=L.transfer(L.CASH, L.UNEARNED_PREMIUM,
                                                              Decimal(amount))))

    with unit_of_work(engine) as db:
        premium(db, "100")
    _caught_up(standby_url, "SELECT EXISTS (SELECT 1 FROM ledger_entries)")

    def app(max_lag: float) -> TestClient:
        return TestClient(create_app(Settings(
            database_url=primary_url, read_database_url=standby_url,
            read_max_lag_seconds=max_lag, upload_dir=tmp_path,
            login_attempts_per_minute=1000), engine=engine))

    def cash(response) -> Decimal:
        accounts = response.json()[0]["accounts"]
        return Decimal(next(a["balance"] for a in accounts if a["code"] == L.CASH))

    with app(3600) as client:
        headers = f.token(client, "finance")
        fresh = client.get("/api/v1/ledger/trial-balance", headers=headers)
        assert fresh.status_code == 200, fresh.text
        assert fresh.headers["X-Mutua-Read-From"] == "replica"
        # 0 when it replayed all it received; else the age of the 100's commit, well under
        # a second (it may hold the head of a record whose tail the primary has not sent)
        assert float(fresh.headers["X-Mutua-Stale-Seconds"]) < 1.0 and cash(fresh) == 100

        standby = create_engine(standby_url, isolation_level="AUTOCOMMIT")
        with standby.connect() as s:
            s.execute(text("SELECT pg_wal_replay_pause()"))
        try:
            with unit_of_work(engine) as db:
                premium(db, "50")
            time.sleep(1.1)  # the standby's last replayed commit is now over a second old
            stale = client.get("/api/v1/ledger/trial-balance", headers=headers)
            assert stale.headers["X-Mutua-Read-From"] == "replica"
            assert float(stale.headers["X-Mutua-Stale-Seconds"]) >= 1.0
            assert cash(stale) == 100  # the 50 has not reached it: the answer says it is stale

            with app(0.5) as strict:
                primary = strict.get("/api/v1/ledger/trial-balance", headers=headers)
            assert primary.headers["X-Mutua-Read-From"] == "primary"
            assert "X-Mutua-Stale-Seconds" not in primary.headers and cash(primary) == 150
        finally:
            with standby.connect() as s:
                s.execute(text("SELECT pg_wal_replay_resume()"))
            standby.dispose()
    engine.dispose()


def test_the_reports_read_on_the_replica_and_an_audited_read_on_the_primary(
        primary_and_standby, tmp_path):
    """Every report that only reads goes to the replica; a member's statement is not a
    report: reading it is written to the audit trail, which only the primary can take."""
    from fastapi.testclient import TestClient

    from mutua.auth.roles import Role
    from mutua.dates import Quarter, today
    from mutua.db import make_engine, unit_of_work
    from mutua.demo import builder
    from mutua.settings import Settings
    from mutua.web.app import create_app
    from tests import factories as f

    primary_url, standby_url = primary_and_standby
    builder.drop_database(primary_url)
    builder.create_schema(primary_url)
    engine = make_engine(primary_url)
    with unit_of_work(engine) as db:
        product = f.accident_project(db, code="REPL")
        holder = f.member(db)
        f.staff(db, Role.ADMIN, username="boss")
        member_id, project_id = holder.id, product.project_id
    _caught_up(standby_url, "SELECT EXISTS (SELECT 1 FROM users WHERE username = 'boss')")
    quarter = Quarter.of(today())
    reports = [
        "/api/v1/settlement/closes",
        f"/api/v1/settlement/reserve-movements?project=REPL&quarter={quarter}",
        f"/api/v1/settlement/solvency?quarter={quarter}",
        "/api/v1/settlement/solvency-factors",
        "/api/v1/claims/triangle?project=REPL",
        "/api/v1/premiums/report",
        f"/api/v1/governance/ratings/summary?project_id={project_id}",
    ]
    with TestClient(create_app(Settings(
            database_url=primary_url, read_database_url=standby_url,
            read_max_lag_seconds=3600, upload_dir=tmp_path,
            login_attempts_per_minute=1000), engine=engine)) as client:
        headers = f.token(client, "boss")
        for path in reports:
            answer = client.get(path, headers=headers)
            assert answer.status_code == 200, (path, answer.text)
            assert answer.headers["X-Mutua-Read-From"] == "replica", path
        audited = client.get(f"/api/v1/settlement/members/{member_id}/statement",
                             headers=headers)
        assert audited.status_code == 200, audited.text
        assert "X-Mutua-Read-From" not in audited.headers
    engine.dispose()
