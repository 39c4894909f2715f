"""The audit log: who did what, when, to which record. Rows are only ever inserted.

On PostgreSQL the table is partitioned by month of ``at`` (audit/partitions.py), with the
primary key ``(id, at)`` there; a schema made from these models (``create_all``) is
partitioned the same way the migration 0021 partitions an existing one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column

from mutua.audit import partitions
from mutua.dates import today, utcnow
from mutua.db import Base, BigIntPK, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_user_id: Mapped[int] = mapped_column(index=True)
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[int | None] = mapped_column(default=None, index=True)
    # Never personal data: ids, codes, amounts, reasons.
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


@event.listens_for(AuditEvent.__table__, "after_create")
def _partition_by_month(target, connection, **kw) -> None:
    partitions.partition(connection, today=today(),
                         indexes=partitions.model_indexes(target))
