"""The jobs table: what pages, the API and the CLI read about long work, on both databases.

A row is written in the same transaction as the request that asks for the work, so a request
that rolls back leaves no job. The queue (procrastinate on PostgreSQL, the embedded worker on
SQLite) only delivers the row's id to a worker; the row says what happened.

States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``. A running job
whose worker died goes back to ``queued`` (work that is one transaction: nothing of it was
kept) or to ``failed`` (work committed in steps, which the reader must start afresh).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, UTCDateTime

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
OPEN_STATES = (QUEUED, RUNNING)
FINISHED_STATES = (SUCCEEDED, FAILED, CANCELLED)
STATES = OPEN_STATES + FINISHED_STATES
_OPEN = text("state IN ('queued', 'running')")


class Job(Base):
    """One piece of long work: a close, a payment batch, an import, an ingest, a demo build."""

    __tablename__ = "jobs"
    __table_args__ = (
        # One open job per kind and key: one close per project and quarter, one payment batch
        # per project, one import of the same file into the same period at a time.
        Index("uq_jobs_open_kind_key", "kind", "key", unique=True,
              sqlite_where=_OPEN, postgresql_where=_OPEN),
        Index("ix_jobs_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    # Jobs with the same lock run one after another (procrastinate's ``lock``; the embedded
    # worker honours it too): a project's closes run in the order they were asked for.
    lock: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12), default=QUEUED)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_total: Mapped[int | None] = mapped_column(BigInteger)
    stage: Mapped[str] = mapped_column(String(60), default="")  # what the rows are, e.g. "enrolling"
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[dict | None] = mapped_column(JSON)  # {"error", "message", "problems"?}
    created_by: Mapped[str] = mapped_column(String(80))
    created_by_user_id: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by_role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    worker: Mapped[str | None] = mapped_column(String(120))  # "host:pid" running it
    attempts: Mapped[int] = mapped_column(default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    queue_id: Mapped[int | None] = mapped_column(BigInteger)  # procrastinate's job id


class JobInput(Base):
    """The uploaded file a job reads (a group file, a FHIR bundle, a lab CSV).

    Kept in the database so a worker on another machine can read it and a rolled-back request
    leaves none behind; deleted when the job finishes (it may hold health data).
    """

    __tablename__ = "job_inputs"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"),
                                        primary_key=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)
