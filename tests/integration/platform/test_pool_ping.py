"""A pooled PostgreSQL connection is pinged before use only after it has been idle
(mutua.db.ping_when_idle), and one whose server has gone is replaced, not handed out.

The window is a parameter in the first tests (0 pings every checkout, an hour none); the
last waits the app's own window out once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, exc, text
from sqlalchemy.engine import Engine

from benchmarks.request_cost import count_pings
from mutua import db as mutua_db
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs MUTUA_TEST_POSTGRES_URL")

HOUR = 3600.0


@pytest.fixture
def admin() -> Iterator[Engine]:
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def pool_with_window(seconds: float) -> tuple[Engine, Counter[str]]:
    """An engine pinging after ``seconds`` idle, and the counter of its pings."""
    engine = create_engine(PG_URL, pool_size=2, max_overflow=0)
    counts: Counter[str] = Counter()
    count_pings(engine, counts)
    mutua_db.ping_when_idle(engine, seconds=seconds)
    return engine, counts


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT pg_backend_pid()"))


def end_backend(admin: Engine, pid: int) -> None:
    """What a database restart does to one pooled connection."""
    with admin.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_an_idle_connection_whose_server_went_away_is_replaced_before_use(admin):
    engine, pings = pool_with_window(0.0)
    try:
        first = backend_pid(engine)
        pings.clear()
        end_backend(admin, first)
        assert backend_pid(engine) != first  # pinged, found gone, replaced: no error
        assert pings["pings"]  # (the new connection is pinged too: a window of 0 spares none)
    finally:
        engine.dispose()


def test_a_connection_used_within_the_window_is_not_pinged(admin):
    engine, pings = pool_with_window(HOUR)
    try:
        pid = backend_pid(engine)
        for _ in range(5):
            assert backend_pid(engine) == pid
        assert pings["pings"] == 0
        # The price of the window: a connection lost within it fails its next use once,
        # and the pool is refreshed as after a failed ping.
        end_backend(admin, pid)
        with pytest.raises(exc.OperationalError):
            backend_pid(engine)
        assert backend_pid(engine) != pid
    finally:
        engine.dispose()


def test_the_apps_engine_replaces_a_lost_connection_idle_past_its_window(admin):
    engine = mutua_db.make_engine(PG_URL)
    try:
        pid = backend_pid(engine)
        end_backend(admin, pid)
        time.sleep(mutua_db.PING_AFTER_IDLE_SECONDS + 0.1)  # idle past the window: pinged
        assert backend_pid(engine) != pid
    finally:
        engine.dispose()
