"""Shared fixtures: a fresh database per test on SQLite (and PostgreSQL when
MUTUA_TEST_POSTGRES_URL is set), a session, an API client, and signed-in callers.

Integration tests take the ``engine`` fixture (directly or through ``db``/``client``) and
run once per backend. The schema is built once per backend; each test starts from empty
tables (SQLite: a copy of a template file; PostgreSQL: TRUNCATE of every table).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mutua.db import Base, load_all_models, make_engine, session_factory

load_all_models()

PG_URL = os.environ.get("MUTUA_TEST_POSTGRES_URL")
# MUTUA_TEST_BACKENDS (e.g. "postgres") narrows the run; CI runs the slow tests on PostgreSQL only.
BACKENDS = [b for b in os.environ.get("MUTUA_TEST_BACKENDS", "sqlite,postgres").split(",")
            if b == "sqlite" or (b == "postgres" and PG_URL)]


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
    engine = make_engine(PG_URL)
    with engine.begin() as conn:  # start clean even if an older schema is there
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path, _sqlite_template, _pg_engine) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path / "mutua.db"
        shutil.copy(_sqlite_template, path)
        eng = make_engine(f"sqlite:///{path}")
        eng.test_url = f"sqlite:///{path}"
        yield eng
        eng.dispose()
    else:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with _pg_engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        _pg_engine.test_url = PG_URL
        yield _pg_engine


@pytest.fixture
def db(engine) -> Iterator[Session]:
    """A session for arranging and checking; commit explicitly to make data visible to the app."""
    session = session_factory(engine)()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def settings(engine, tmp_path):
    from mutua.settings import Settings

    return Settings(
        database_url=engine.test_url,
        upload_dir=tmp_path / "uploads",
        login_attempts_per_minute=1000,
    )


@pytest.fixture
def app(settings, engine):
    from mutua.web.app import create_app

    return create_app(settings, engine=engine)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c
