"""Record what happened. Every write, and every read of health data, calls :func:`record` (or
sends :func:`event` with its other writes in one statement)."""

from __future__ import annotations

from enum import Enum
from typing import Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mutua.audit.models import AuditEvent
from mutua.dates import utcnow
from mutua.db import OneRow


class Actor(Protocol):
    """Who acted, as the audit trail names them (``auth.security.Principal`` is one). Audit
    sits below auth, which records sign-ins here, so it names only what it reads."""

    user_id: int
    username: str
    role: Enum  # its value is stored


def record(
    db: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    project_id: int | None = None,
    detail: dict | None = None,
) -> None:
    """Append one audit event in the caller's transaction (it commits or rolls back with it)."""
    db.execute(event(actor=actor, action=action, entity=entity, entity_id=entity_id,
                     project_id=project_id, detail=detail).statement())


def event(*, actor: Actor, action: str, entity: str, entity_id: object,
          project_id: int | None = None, detail: dict | None = None) -> OneRow:
    """One audit event's row, for a caller that sends it with other writes in one
    statement (ledger.service.post's ``alongside``); :func:`record` sends it alone."""
    return OneRow(AuditEvent.__table__, {
        "at": utcnow(),
        "actor_user_id": actor.user_id,
        "actor_username": actor.username,
        "actor_role": actor.role.value,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "project_id": project_id,
        "detail": detail or {},
    })


def record_many(db: Session, *, actor: Actor, action: str, entity: str,
                rows: list[tuple[object, int | None, dict]]) -> None:
    """Bulk form for set-based jobs: one event per (entity_id, project_id, detail)."""
    if not rows:
        return
    now = utcnow()
    db.execute(
        insert(AuditEvent),
        [
            {
                "at": now,
                "actor_user_id": actor.user_id,
                "actor_username": actor.username,
                "actor_role": actor.role.value,
                "action": action,
                "entity": entity,
                "entity_id": str(eid),
                "project_id": pid,
                "detail": det,
            }
            for eid, pid, det in rows
        ],
    )


def recent(db: Session, *, limit: int = 50, offset: int = 0, entity: str | None = None,
           entity_id: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    return list(db.scalars(stmt))
