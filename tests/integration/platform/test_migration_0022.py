"""Migration 0022: policy, member, claim and complaint numbers from sequences (PostgreSQL).

The upgrade starts each sequence after its counter, so a database that had issued numbers
goes on from them; the downgrade writes the sequences' positions back to the counters. On
SQLite the counters stay, and both directions change nothing.
"""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from mutua import numbering, schema
from mutua.db import make_engine, session_factory
from tests.conftest import BACKENDS, database_for_migrations


@pytest.fixture(params=BACKENDS)
def old_database(request, tmp_path):
    with database_for_migrations(request.param, tmp_path, "m0022") as url:
        yield url


def _counters(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT name, value FROM counters")).all())


def test_numbers_go_on_from_the_counters_and_back(old_database):
    url = old_database
    command.upgrade(schema.alembic_config(url), "0021")
    engine = make_engine(url)
    with engine.begin() as conn:  # numbers issued before the upgrade; complaints none yet
        conn.execute(text("INSERT INTO counters (name, value) VALUES ('policy', 41), "
                          "('member', 7), ('claim', 3), ('health_results', 500)"))
    schema.upgrade(url)
    with session_factory(engine)() as db:
        assert list(numbering.reserve_now(db, "policy")) == [42]
        assert list(numbering.reserve(db, "member", 2)) == [8, 9]
        assert list(numbering.reserve_now(db, "complaint")) == [1]
        assert list(numbering.reserve(db, "health_results", 1)) == [501]  # still a counter
        db.commit()
        with db.connection() as conn:
            positions = dict(conn.execute(numbering.positions(conn)).all())
    assert positions == {"policy": 42, "member": 9, "claim": 3, "complaint": 1,
                         "health_results": 501}
    assert schema.pending_changes(url) == []

    command.downgrade(schema.alembic_config(url), "0021")
    assert _counters(engine) == positions  # on SQLite the counters were advanced all along
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pg_class WHERE relkind = 'S'"
                                     " AND relname LIKE '%_numbers'")).scalar_one() == 0
    schema.upgrade(url)  # and up again: the sequences start after the counters once more
    with session_factory(engine)() as db:
        assert list(numbering.reserve_now(db, "policy")) == [43]
    engine.dispose()
