"""The audit log cannot be altered: the database itself refuses UPDATE and DELETE."""

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from mutua.audit import service as audit
from mutua.audit.models import AuditEvent
from mutua.auth.security import SYSTEM
from mutua.ops import hardening


@pytest.fixture
def hardened(engine):
    hardening.install(engine)
    hardening.install(engine)  # idempotent
    assert hardening.is_installed(engine)
    return engine


def _one_event(db):
    audit.record(db, actor=SYSTEM, action="test.write", entity="thing", entity_id=1,
                 detail={"why": "immutability test"})
    db.commit()
    return db.scalar(select(AuditEvent.id))


def test_insert_still_works(hardened, db):
    _one_event(db)
    audit.record(db, actor=SYSTEM, action="test.write", entity="thing", entity_id=2)
    db.commit()
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 2


def test_update_is_refused(hardened, db):
    event_id = _one_event(db)
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(action="forged"))
    db.rollback()
    assert db.scalar(select(AuditEvent.action).where(AuditEvent.id == event_id)) == "test.write"


def test_delete_is_refused(hardened, db):
    _one_event(db)
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(delete(AuditEvent))
    db.rollback()
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_raw_sql_is_refused_too(hardened, engine, db):
    _one_event(db)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor_username = 'someone-else'"))
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT actor_username FROM audit_events")) == "system"
