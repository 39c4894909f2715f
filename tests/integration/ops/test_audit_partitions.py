"""The audit log by month on PostgreSQL (audit/partitions.py, migration 0021): a write never
fails for want of a partition, months are made ahead idempotently, a closed year is
archived by detaching its months, and the migration converts a populated table and back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from mutua import schema
from mutua.audit import partitions
from mutua.audit.models import AuditEvent
from mutua.dates import today as shanghai_today
from mutua.db import make_engine
from mutua.errors import ValidationFailed
from mutua.ops import hardening
from tests.conftest import PG_URL, scratch_postgres_database

TODAY = date(2030, 1, 15)  # a month the schema made no partition for


def _event(at: datetime, action: str = "test.write") -> dict:
    return {"at": at, "actor_user_id": 0, "actor_username": "system", "actor_role": "admin",
            "action": action, "entity": "thing", "entity_id": "1", "detail": {}}


def _where(conn, event_id: int) -> str:
    return conn.scalar(text("SELECT tableoid::regclass::text FROM audit_events WHERE id = :i"),
                       {"i": event_id})


@pytest.fixture
def pg(engine):
    """PostgreSQL only; the partitions a test makes (or detaches) are dropped after it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("partitioning is PostgreSQL's")
    with engine.connect() as conn:
        before = set(partitions.attached(conn))
    yield engine
    with engine.begin() as conn:
        made = conn.scalars(text("SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') "
                                 "AND relname LIKE 'audit_events_%'")).all()
        for name in made:
            if partitions.is_partition_table(name) and name not in before:
                conn.execute(text(f"DROP TABLE {name}"))


def test_a_write_in_a_month_without_a_partition_succeeds(engine, db):
    """On both backends; on PostgreSQL it lands in the default partition, where reads find it."""
    far = datetime(2031, 7, 1, 12, tzinfo=UTC)
    event_id = db.execute(insert(AuditEvent).values(**_event(far))
                          .returning(AuditEvent.id)).scalar_one()
    db.commit()
    assert db.scalar(select(AuditEvent.at).where(AuditEvent.id == event_id)) == far
    if engine.dialect.name == "postgresql":
        assert _where(db.connection(), event_id) == partitions.DEFAULT


def test_a_new_schema_is_partitioned_by_month(pg):
    with pg.connect() as conn:
        assert partitions.is_partitioned(conn)
        names = partitions.attached(conn)
    assert names[-1] == partitions.DEFAULT
    assert partitions.partition_name(shanghai_today().replace(day=1)) in names


def test_months_are_made_ahead_once(pg, db):
    with pg.begin() as conn:
        first = partitions.prepare_ahead(conn, today=TODAY)
    with pg.begin() as conn:
        second = partitions.prepare_ahead(conn, today=TODAY)
    assert first.created == ["audit_events_2030_01", "audit_events_2030_02",
                             "audit_events_2030_03", "audit_events_2030_04"]
    assert second.created == [] and second.in_default == []
    event_id = db.execute(insert(AuditEvent).values(
        **_event(datetime(2030, 2, 28, 16, 30, tzinfo=UTC))).returning(AuditEvent.id)).scalar_one()
    db.commit()
    # 16:30 UTC on 28 February is 00:30 on 1 March in Shanghai, whose months these are
    assert _where(db.connection(), event_id) == "audit_events_2030_03"


def test_a_month_already_in_the_default_is_reported_not_created(pg, db):
    db.execute(insert(AuditEvent).values(**_event(datetime(2030, 2, 10, tzinfo=UTC))))
    db.commit()
    with pg.begin() as conn:
        done = partitions.prepare_ahead(conn, today=TODAY)
    assert done.in_default == ["audit_events_2030_02"]
    assert "audit_events_2030_02" not in done.created and len(done.created) == 3
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_a_closed_year_is_detached_whole(pg, db):
    with pg.begin() as conn:
        partitions.prepare_ahead(conn, today=date(2029, 1, 1), months=11)
    db.execute(insert(AuditEvent), [_event(datetime(2029, m, 5, tzinfo=UTC)) for m in (1, 6, 12)])
    db.execute(insert(AuditEvent).values(**_event(datetime(2030, 1, 5, tzinfo=UTC))))
    db.commit()
    hardening.install(pg)  # detaching is not a DELETE: the append-only trigger allows it
    with pg.begin() as conn:
        detached = partitions.archive_year(conn, year=2029, today=TODAY)
    with pg.begin() as conn:
        again = partitions.archive_year(conn, year=2029, today=TODAY)
        kept = conn.scalar(text("SELECT count(*) FROM audit_events_2029_06"))
    assert detached == [f"audit_events_2029_{m:02d}" for m in range(1, 13)] and again == []
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 1
    assert kept == 1  # the detached month keeps its rows until the operator drops it


@pytest.mark.parametrize("year", [2030, 2031, 1999])
def test_only_a_closed_year_can_be_archived(engine, year):
    with engine.begin() as conn, pytest.raises(ValidationFailed, match="year"):
        partitions.archive_year(conn, year=year, today=TODAY)


@pytest.fixture
def scratch_pg():
    """A database of its own, for the migration to run on from an empty server."""
    if not PG_URL:
        pytest.skip("PostgreSQL not configured")
    with scratch_postgres_database("audit_months") as url:
        yield url


def test_the_migration_partitions_a_populated_log_and_back(scratch_pg):
    command.upgrade(schema.alembic_config(scratch_pg), "0020")
    engine = make_engine(scratch_pg)
    months = [datetime(2024, 3, 9, tzinfo=UTC), datetime(2025, 11, 30, 20, tzinfo=UTC)]
    with engine.begin() as conn:
        conn.execute(insert(AuditEvent.__table__), [_event(at) for at in months])
    engine.dispose()
    schema.upgrade(scratch_pg)
    engine = make_engine(scratch_pg)
    with engine.begin() as conn:
        assert _where(conn, 1) == "audit_events_2024_03"
        assert _where(conn, 2) == "audit_events_2025_12"  # 04:00 on 1 December in Shanghai
        new_id = conn.execute(insert(AuditEvent.__table__).values(
            **_event(datetime.now(UTC))).returning(AuditEvent.id)).scalar_one()
    assert new_id == 3  # the id sequence went on
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET action = 'forged'"))
    engine.dispose()
    assert schema.pending_changes(scratch_pg) == []
    command.downgrade(schema.alembic_config(scratch_pg), "0020")
    engine = make_engine(scratch_pg)
    with engine.begin() as conn:
        assert not partitions.is_partitioned(conn)
        assert conn.scalar(text("SELECT count(*) FROM audit_events")) == 3
        assert hardening.is_installed(conn)
        assert conn.scalar(text("SELECT count(*) FROM pg_class WHERE relname LIKE "
                                "'audit_events_20%' AND relkind = 'r'")) == 0
    engine.dispose()
    schema.upgrade(scratch_pg)  # and up again
    assert schema.pending_changes(scratch_pg) == []


@pytest.fixture
def cli(engine, monkeypatch):
    from typer.testing import CliRunner

    from mutua.cli import app
    from mutua.settings import get_settings

    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(app, list(args))
    get_settings.cache_clear()


def test_the_nightly_task_makes_the_months_ahead(pg, monkeypatch, cli):
    from mutua.jobs import queue

    monkeypatch.setattr(queue, "today", lambda: TODAY)
    assert queue.audit_partitions(0)["created"][0] == "audit_events_2030_01"
    assert queue.audit_partitions(0) == {"created": [], "in_default": []}


def test_the_operator_archives_a_year_from_the_cli(pg, db, cli):
    last_year = shanghai_today().year - 1
    made = cli("privacy", "audit-partitions", "--json")
    assert made.exit_code == 0, made.output
    with pg.begin() as conn:
        partitions.prepare_ahead(conn, today=date(last_year, 1, 1), months=11)
    done = cli("privacy", "archive-audit-year", str(last_year), "--json")
    assert done.exit_code == 0, done.output
    assert len(json.loads(done.stdout)["detached"]) == 12
    assert db.scalar(select(AuditEvent.detail).where(
        AuditEvent.action == "audit.archive_year")) == {"detached": json.loads(done.stdout)[
            "detached"]}


def test_the_nightly_task_as_a_role_that_does_not_own_the_table(pg, monkeypatch):
    """Production's application role may only insert into the audit log (docs/operations.md
    "Database roles"): the task says so instead of failing every night."""
    from mutua.jobs import queue
    from mutua.settings import get_settings

    role = f"{make_url(pg.test_url).database}_not_owner"  # roles are the server's: one a database
    with pg.begin() as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT SELECT, INSERT ON audit_events TO {role}"))
    monkeypatch.setattr(queue, "today", lambda: TODAY)
    monkeypatch.setenv("MUTUA_DATABASE_URL", make_url(pg.test_url).set(username=role)
                       .render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        out = queue.audit_partitions(0)
        assert out.get("refused") == "not the owner", out
    finally:
        get_settings.cache_clear()
        from mutua.db import engine_for

        engine_for.cache_clear()
        with pg.begin() as conn:
            conn.execute(text(f"REVOKE ALL ON audit_events FROM {role}"))
            conn.execute(text(f"REVOKE ALL ON SCHEMA public FROM {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


def test_months_in_the_default_get_partitions_of_their_own(pg, db, cli):
    """After a restore into a new database every older month sits in the default."""
    hardening.install(pg)
    at = [datetime(2031, 7, 1, tzinfo=UTC), datetime(2031, 9, 30, 20, tzinfo=UTC)]
    ids = [db.execute(insert(AuditEvent).values(**_event(t)).returning(AuditEvent.id))
           .scalar_one() for t in at]
    db.commit()
    done = cli("privacy", "audit-partitions", "--from-default", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["from_default"] == ["audit_events_2031_07",
                                                       "audit_events_2031_10"]
    with pg.connect() as conn:
        assert [_where(conn, i) for i in ids] == ["audit_events_2031_07", "audit_events_2031_10"]
        assert conn.scalar(text(f"SELECT count(*) FROM {partitions.DEFAULT}")) == 0
        assert partitions.empty_default(conn) == []  # nothing left to move
        assert hardening.is_installed(conn)


def test_the_migration_leaves_sqlites_log_as_it_is(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    steps = [lambda: command.upgrade(schema.alembic_config(url), "0020"),
             lambda: schema.upgrade(url),
             lambda: command.downgrade(schema.alembic_config(url), "0020")]
    for number, step in enumerate(steps):
        step()
        engine = make_engine(url)
        with engine.begin() as conn:
            if number == 0:  # the log as 0020 left it, with an event in it
                conn.execute(insert(AuditEvent.__table__), [_event(datetime(2024, 3, 9,
                                                                            tzinfo=UTC))])
            assert conn.scalar(text("SELECT count(*) FROM audit_events")) == 1
            assert hardening.is_installed(conn)
        engine.dispose()
    schema.upgrade(url)
    assert schema.pending_changes(url) == []
