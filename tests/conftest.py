"""Shared fixtures: a fresh database per test on SQLite (and PostgreSQL when
MUTUA_TEST_POSTGRES_URL is set), a session, an API client, and signed-in callers.

Integration tests take the ``engine`` fixture (directly or through ``db``/``client``) and
run once per backend. The schema is built once per backend; each test starts from empty
tables (SQLite: a copy of a template file; PostgreSQL: TRUNCATE of every table).

`make test` runs the tests in pytest-xdist worker processes (two by default), a whole test
file per worker at a time (``--dist loadfile`` in pyproject.toml), so tests that share a
server or state within a file (tests/e2e, the crash trials) stay together and in order. Each
worker has its own PostgreSQL database, ``<test db>_<worker>`` (e.g. ``mutua_test_gw0``),
made on the test server when absent; SQLite files are per test already. Without workers
(``-n 0``, or plain ``pytest``) the database in the URL is used as it is.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from mutua import (
    numbering,
    wiring,  # noqa: F401  (joins the domains' hooks before any use case runs)
)
from mutua.auth import security
from mutua.db import Base, load_all_models, make_engine, session_factory

load_all_models()

# Argon2 at its production cost spends about half a second per sign-in on a loaded 2-core
# machine, and the suite signs in a few thousand times. Tests check who may sign in, not how
# expensive guessing is, so this process hashes at the smallest cost; the production cost is
# held by tests/unit/auth/test_password_cost.py, and servers the tests start keep it.
security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# The app refuses to sign with no key; every test run makes its own (never one from the
# source). Servers the tests start (tests/e2e, the crash trials) inherit it.
os.environ.setdefault("MUTUA_SECRET_KEY", secrets.token_urlsafe(48))


def _worker_url(url: str | None) -> str | None:
    """The URL with this xdist worker's own database: workers would TRUNCATE each other's rows."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base = make_url(url)
    return base.set(database=f"{base.database}_{worker}").render_as_string(hide_password=False)


def _create_database_if_absent(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                               {"name": target.database}):
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


PG_URL = _worker_url(os.environ.get("MUTUA_TEST_POSTGRES_URL"))
# MUTUA_TEST_BACKENDS (e.g. "postgres") narrows the run; CI runs the slow tests on PostgreSQL only.
BACKENDS = [b for b in os.environ.get("MUTUA_TEST_BACKENDS", "sqlite,postgres").split(",")
            if b == "sqlite" or (b == "postgres" and PG_URL)]


@contextmanager
def database_for_migrations(backend: str, folder: Path, suffix: str) -> Iterator[str]:
    """The URL of an empty database for the migrations to build: a SQLite file in ``folder``,
    or (``postgres``) a database of this worker's named with ``suffix``, dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'old.db'}"
        make_engine(url).dispose()
        yield url
        return
    with scratch_postgres_database(suffix) as url:
        yield url


@contextmanager
def scratch_postgres_database(suffix: str) -> Iterator[str]:
    """The URL of an empty PostgreSQL database named after this worker's test database and
    ``suffix`` (migrations build it from nothing), dropped afterwards."""
    from mutua.db import engine_for

    base = make_url(PG_URL)
    name = f"{base.database}_{suffix}"
    admin = make_engine(base.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        engine_for.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# procrastinate's own tables (PostgreSQL), emptied with ours before each test.
QUEUE_TABLES = ["procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers",
                "procrastinate_workers"]


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_engine() -> Iterator[Engine | None]:
    if not PG_URL:
        yield None
        return
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a fresh server has only the URL's database
        _create_database_if_absent(PG_URL)
    engine = make_engine(PG_URL)
    with engine.begin() as conn:  # start clean even if an older schema is there
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(engine)
    from mutua.jobs import queue

    queue.install_schema(engine)  # procrastinate's tables: jobs are deferred into them
    yield engine
    engine.dispose()


def empty_database(backend: str, folder: Path, sqlite_template: Path,
                   pg_engine: Engine | None) -> Iterator[Engine]:
    """An engine on empty tables: a copy of the SQLite template in ``folder``, or the
    worker's PostgreSQL database truncated. Its URL is on ``engine.test_url``."""
    if backend == "sqlite":
        path = folder / "mutua.db"
        shutil.copy(sqlite_template, path)
        eng = make_engine(f"sqlite:///{path}")
        eng.test_url = f"sqlite:///{path}"
        yield eng
        eng.dispose()
    else:
        tables = ", ".join([f'"{t.name}"' for t in Base.metadata.sorted_tables] + QUEUE_TABLES)
        with pg_engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            for sequence in numbering.SEQUENCES.values():  # business numbers from 1 again
                conn.execute(text(f"ALTER SEQUENCE {sequence.name} RESTART"))
        pg_engine.test_url = PG_URL
        yield pg_engine


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path, _sqlite_template, _pg_engine) -> Iterator[Engine]:
    yield from empty_database(request.param, tmp_path, _sqlite_template, _pg_engine)


@pytest.fixture
def db(engine) -> Iterator[Session]:
    """A session for arranging and checking; commit explicitly to make data visible to the app."""
    session = session_factory(engine)()
    yield session
    session.rollback()
    session.close()


def settings_for(engine: Engine, folder: Path):
    """The app's settings for a test database: uploads in ``folder``, sign-in limits high
    enough for tests that sign in many times."""
    from mutua.settings import Settings

    return Settings(
        database_url=engine.test_url,
        upload_dir=folder / "uploads",
        login_attempts_per_minute=1000,
        login_attempts_per_minute_per_address=1000,
    )


@pytest.fixture
def settings(engine, tmp_path):
    return settings_for(engine, tmp_path)


@pytest.fixture
def app(settings, engine):
    from mutua.web.app import create_app

    return create_app(settings, engine=engine)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def online_payments(monkeypatch):
    """Members may pay online: the payment provider's callbacks are verified with a secret
    (none set: every callback, so every online payment, is refused)."""
    from mutua.settings import get_settings

    monkeypatch.setenv("MUTUA_PAYMENT_CALLBACK_SECRET", "c" * 40)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
