"""Tables of the health domain: observations, derived results, alerts, coordinators.

Observations and results grow with patients (a million lab rows), so they carry
``project_id`` (where known) for sharding and are written by bulk statements.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, BoundedText, UTCDateTime, large_table


class Observation(Base):
    """One lab result or vital sign (检验结果), in the kind's canonical unit."""

    __tablename__ = "health_observations"
    # The dedup key: one result per patient, kind and moment; a second copy is a duplicate.
    # (project_id, id): the key a distributed table needs (docs/operations.md).
    __table_args__ = (UniqueConstraint("member_id", "kind", "effective_at",
                                       name="uq_health_obs_dedup"),
                      UniqueConstraint("project_id", "id"), large_table())

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # The sharding key: the patient's kidney project, or the mutual-wide project before they
    # hold a kidney policy (catalog/mutual.py).
    project_id: Mapped[int] = mapped_column()
    # No foreign key on the two million-row tables: a per-row key check costs more than the
    # insert itself, and the ingest pipeline only writes patients it has just looked up.
    member_id: Mapped[int] = mapped_column(BigIntPK)
    kind: Mapped[str] = mapped_column(String(16))  # creatinine | egfr | acr | potassium | ...
    loinc: Mapped[str] = mapped_column(String(10))
    value: Mapped[float] = mapped_column(Float)  # canonical unit (kinds.KINDS[kind].unit)
    original_value: Mapped[str] = mapped_column(String(32))
    original_unit: Mapped[str] = mapped_column(String(24))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(16))  # api | fhir | csv | demo
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KidneyResult(Base):
    """What a kidney-function result means: eGFR, stage, risk, slope (derived, 衍生结果)."""

    __tablename__ = "health_results"
    __table_args__ = (Index("ix_health_results_member_time", "member_id", "effective_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(default=None)
    member_id: Mapped[int] = mapped_column(BigIntPK)  # no foreign key: see Observation
    observation_id: Mapped[int] = mapped_column(BigIntPK)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    egfr: Mapped[float] = mapped_column(Float)
    equation: Mapped[str] = mapped_column(String(40))
    g_category: Mapped[str] = mapped_column(String(3))
    acr_mg_g: Mapped[float | None] = mapped_column(Float, default=None)  # latest ACR then
    a_category: Mapped[str | None] = mapped_column(String(2), default=None)
    risk: Mapped[str | None] = mapped_column(String(24), default=None)
    risk_2y: Mapped[float | None] = mapped_column(Float, default=None)  # KFRE fractions
    risk_5y: Mapped[float | None] = mapped_column(Float, default=None)
    slope: Mapped[float | None] = mapped_column(Float, default=None)  # per year, to this date


OPEN_STATUSES = ("open", "acknowledged", "contacted")


class Alert(Base):
    """Something a care coordinator should look at (预警). One open alert per patient and rule."""

    __tablename__ = "health_alerts"
    __table_args__ = (
        Index("ix_health_alerts_queue", "status", "severity_rank", "created_at"),
        Index("uq_health_alerts_open_rule", "member_id", "rule", unique=True,
              sqlite_where=text("status != 'resolved'"),
              postgresql_where=text("status != 'resolved'")),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(default=None, index=True)
    member_id: Mapped[int] = mapped_column(BigIntPK, index=True)  # no foreign key: bulk-written
    rule: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(10))  # low | medium | high | critical
    severity_rank: Mapped[int] = mapped_column(SmallInteger)  # 1..4, for ordering the queue
    value: Mapped[float | None] = mapped_column(Float, default=None)
    observation_id: Mapped[int | None] = mapped_column(default=None)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(14), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AlertNote(Base):
    """A step on an alert: acknowledged, contact recorded, resolved, with the coordinator's note."""

    __tablename__ = "health_alert_notes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("health_alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int]
    username: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(14))
    note: Mapped[str] = mapped_column(BoundedText(2000), default="")  # act_on_alert's limit


class CoordinatorAssignment(Base):
    """Which care coordinator (个案管理师) looks after which patient."""

    __tablename__ = "health_assignments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    project_id: Mapped[int | None] = mapped_column(default=None, index=True)
    coordinator_user_id: Mapped[int] = mapped_column(index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    assigned_by: Mapped[int]
