"""A demo mutual built once per backend, copied afresh for each crash or race trial.

SQLite: the template is a file, copied. PostgreSQL: the template is a database on the test
server (``<test db>_crash_tpl``), cloned with ``CREATE DATABASE ... TEMPLATE`` into
``<test db>_crash``. Commands run as real child processes (``mutua ...``) so they can be killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mutua.db import Base, load_all_models, make_engine
from tests.conftest import BACKENDS, PG_URL

load_all_models()
DEMO_MEMBERS = 12_000
APP_NAME = "mutua-crash-trial"


@dataclass
class World:
    backend: str
    template: str
    fresh: Callable[[], str]


def _admin_engine():
    return create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _build(url: str) -> None:
    """Schema from the models (as the test suite makes it), the audit guard, then the demo."""
    from mutua.ops import hardening

    engine = make_engine(url)
    Base.metadata.create_all(engine)
    hardening.install(engine)
    if engine.dialect.name == "postgresql":
        from mutua.jobs import queue

        queue.install_schema(engine)
    engine.dispose()
    code = ("import sys; from mutua.demo import builder; "
            "builder.build(members=int(sys.argv[1]), url=sys.argv[2], fresh=False, "
            "domain_steps=('claims',))")
    subprocess.run([sys.executable, "-c", code, str(DEMO_MEMBERS), url], check=True,
                   stdout=subprocess.DEVNULL, timeout=900)


@pytest.fixture(scope="session", params=BACKENDS)
def world(request, tmp_path_factory) -> World:
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("crash")
        template = folder / "template.db"
        _build(f"sqlite:///{template}")
        with sqlite3.connect(template) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        copies = iter(range(1_000_000))

        def fresh_sqlite() -> str:
            path = folder / f"trial-{next(copies)}.db"
            shutil.copy(template, path)
            return f"sqlite:///{path}"

        return World("sqlite", f"sqlite:///{template}", fresh_sqlite)

    base = make_url(PG_URL)
    tpl, trial = f"{base.database}_crash_tpl", f"{base.database}_crash"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{tpl}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{tpl}"'))
    _build(base.set(database=tpl).render_as_string(hide_password=False))

    def fresh_pg() -> str:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{trial}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{trial}" TEMPLATE "{tpl}"'))
        return base.set(database=trial).render_as_string(hide_password=False)

    return World("postgres", base.set(database=tpl).render_as_string(hide_password=False), fresh_pg)


# ------------------------------------------------------------------------------ processes


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from mutua.cli import main; main()", *args]


def cli_env(url: str) -> dict:
    if url.startswith("postgresql"):
        url = make_url(url).update_query_dict({"application_name": APP_NAME}).render_as_string(
            hide_password=False)
    return {**os.environ, "MUTUA_DATABASE_URL": url}


def run(url: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cli_command(*args), env=cli_env(url), capture_output=True, text=True,
                          timeout=timeout)


def start(url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(cli_command(*args), env=cli_env(url), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def writing(url: str) -> Callable[[], bool]:
    """A probe: is some process inside a write transaction on this database right now?"""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)

        def sqlite_probe() -> bool:
            try:
                probe.execute("BEGIN IMMEDIATE")  # fails while another writer holds the lock
            except sqlite3.OperationalError:
                return True
            probe.execute("ROLLBACK")
            return False

        return sqlite_probe
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    conn = engine.connect()
    query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a "
                 "AND backend_xid IS NOT NULL")

    def pg_probe() -> bool:
        return bool(conn.scalar(query, {"a": APP_NAME}))

    return pg_probe


def job_state(url: str, job_id: int) -> str | None:
    engine = make_engine(url)
    with engine.connect() as conn:
        state = conn.scalar(text("SELECT state FROM jobs WHERE id = :i"), {"i": job_id})
    engine.dispose()
    return state


def kill_worker_while_running(url: str, job_id: int, timeout: float = 300) -> bool:
    """Start ``mutua worker``, SIGKILL it once it runs the job inside a write transaction."""
    probe = writing(url)
    proc = start(url, "worker")
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if job_state(url, job_id) == "running" and probe():
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.01)
        return False
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def kill_while_writing(url: str, *args: str, timeout: float = 300) -> bool:
    """Start ``mutua args``, SIGKILL it once it is inside a write transaction; True if it was."""
    probe = writing(url)
    proc = start(url, *args)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if probe():
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
        return False
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


# ------------------------------------------------------------------------------ checks


def counts(url: str) -> dict[str, int]:
    """Rows per table; audit events count without those of asking for and cancelling jobs
    (a killed command has asked for its job before it was killed: that is not its work)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        out = {t.name: conn.scalar(text(f'SELECT count(*) FROM "{t.name}"'))
               for t in Base.metadata.sorted_tables}
        out["audit_events"] = conn.scalar(text(
            "SELECT count(*) FROM audit_events WHERE action NOT LIKE 'jobs.%'"))
    engine.dispose()
    return out


def assert_books_balance(url: str) -> None:
    from mutua.db import unit_of_work
    from mutua.ledger import service as ledger_service

    engine = make_engine(url)
    with unit_of_work(engine) as db:
        balances = ledger_service.trial_balance(db)
        assert balances, "the demo has books"
        for tb in balances:
            assert tb.total == 0, tb
    engine.dispose()


def scalar(url: str, sql: str, **params):
    engine = make_engine(url)
    with engine.connect() as conn:
        value = conn.scalar(text(sql), params)
    engine.dispose()
    return value
