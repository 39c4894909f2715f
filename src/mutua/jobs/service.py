"""Jobs as the edges use them: ask for one, read it, list them, cancel one.

``enqueue`` writes the job's row (and its uploaded file) in the caller's transaction, and on
PostgreSQL defers its delivery on the same connection: a request that rolls back leaves no job
and no delivery. One job per kind and key may be open (queued or running) at a time; asking
again answers with that job (:class:`JobAlreadyOpen`, HTTP 409, carrying its id).

Reading a running job on SQLite merges in what its runner last reported on the board
(:mod:`mutua.jobs.board`), since the runner cannot write the database beside its own work.

>>> eta(done=250, total=1000, elapsed_seconds=10.0)
30.0
>>> eta(done=0, total=1000, elapsed_seconds=10.0) is None
True
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.dates import utcnow
from mutua.errors import Conflict, NotFound, ValidationFailed
from mutua.jobs import kinds, queue, worker
from mutua.jobs.board import board_for
from mutua.jobs.models import (
    CANCELLED,
    OPEN_STATES,
    QUEUED,
    RUNNING,
    STATES,
    Job,
    JobInput,
)
from mutua.jobs.schemas import JobOut


class JobAlreadyOpen(Conflict):
    """The same work is already queued or running: the answer names that job."""

    def __init__(self, job: Job):
        self.job_id = job.id
        super().__init__(f"the same {job.kind} job is already {job.state} as job {job.id}")

    def to_dict(self) -> dict:
        return {**super().to_dict(), "job_id": self.job_id, "job_url": api_url(self.job_id)}


def api_url(job_id: int) -> str:
    return f"/api/v1/jobs/{job_id}"


def enqueue(db: Session, *, kind: str, key: str, params: dict, actor: Principal,
            project_id: int | None = None, lock: str | None = None,
            upload: tuple[str, bytes] | None = None) -> Job:
    """Ask for a job in the caller's transaction; it runs once that transaction commits."""
    spec = kinds.kind_of(kind)
    spec.check(actor)
    _refuse_if_open(db, kind, key)
    job = Job(kind=kind, key=key[:200], lock=lock, params=kinds.as_json(params),
              project_id=project_id, state=QUEUED, created_by=actor.username,
              created_by_user_id=actor.user_id, created_by_role=actor.role.value,
              created_at=utcnow())
    db.add(job)
    try:
        db.flush()
    except IntegrityError:  # another request opened the same job a moment ago
        db.rollback()
        _refuse_if_open(db, kind, key)
        raise
    if upload is not None:
        filename, data = upload
        db.add(JobInput(job_id=job.id, filename=(filename or "")[:200], data=data))
    queue.deliver(db, job)
    db.flush()
    audit.record(db, actor=actor, action="jobs.enqueue", entity="job", entity_id=job.id,
                 project_id=project_id, detail={"kind": kind, "key": job.key})
    _wake_local_worker_after_commit(db)
    return job


def _refuse_if_open(db: Session, kind: str, key: str) -> None:
    open_job = db.scalar(select(Job).where(Job.kind == kind, Job.key == key[:200],
                                           Job.state.in_(OPEN_STATES)))
    if open_job is not None:
        raise JobAlreadyOpen(open_job)


def _wake_local_worker_after_commit(db: Session) -> None:
    event.listen(db, "after_commit", lambda _session: worker.wake(), once=True)


def get(db: Session, *, job_id: int, actor: Principal) -> Job:
    job = db.get(Job, job_id)
    if job is None or not kinds.kind_of(job.kind).allows(actor):
        raise NotFound("job %(job_id)s not found", job_id=job_id)  # a job of a kind the caller may not see
    return job


def list_jobs(db: Session, *, actor: Principal, kind: str | None = None,
              state: str | None = None, project_id: int | None = None, limit: int = 50,
              offset: int = 0) -> tuple[list[Job], int]:
    """The jobs the caller may read, newest first, and how many there are in all."""
    readable = kinds.readable_kinds(actor)
    where = [Job.kind.in_(readable)]
    if kind:
        kinds.kind_of(kind)
        where.append(Job.kind == kind)
    if state:
        if state not in STATES:
            raise ValidationFailed("state", "must be one of %(choices)s", choices=", ".join(STATES))
        where.append(Job.state == state)
    if project_id is not None:
        where.append(Job.project_id == project_id)
    rows = list(db.scalars(select(Job).where(*where).order_by(Job.id.desc())
                           .limit(limit).offset(offset)))
    total = db.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    return rows, int(total)


def cancel(db: Session, *, job_id: int, actor: Principal) -> Job:
    """Cancel a queued job now, or ask a running one to stop at its next progress report
    (its work then rolls back whole). A finished job cannot be cancelled."""
    job = get(db, job_id=job_id, actor=actor)
    if job.state == QUEUED:
        job.state, job.finished_at = CANCELLED, utcnow()
        queue.withdraw(db, job)
        db.execute(delete(JobInput).where(JobInput.job_id == job.id))
    elif job.state == RUNNING:
        board = board_for(db.get_bind())
        board.ask_cancel(job.id, by=actor.username)
        if not queue.uses_queue(db.get_bind()):
            # SQLite: the running job holds the database's one write lock, so the request
            # writes nothing; the board carries the request and the job ends as cancelled.
            return job
        job.cancel_requested = True
    else:
        raise Conflict("job %(id)s has already %(state)s", id=job.id, state=job.state)
    db.flush()
    audit.record(db, actor=actor, action="jobs.cancel", entity="job", entity_id=job.id,
                 project_id=job.project_id, detail={"kind": job.kind, "state": job.state})
    return job


# ---------------------------------------------------------------- reading

def eta(*, done: int, total: int | None, elapsed_seconds: float) -> float | None:
    """Seconds left at the pace so far, or None before the first row is done."""
    if not total or done <= 0 or done >= total:
        return None
    return round(elapsed_seconds * (total - done) / done, 1)


def to_out(db: Session, job: Job, *, now: datetime | None = None) -> JobOut:
    """The job as pages and the API show it, with what its runner last reported."""
    return to_outs(db, [job], now=now)[0]


def to_outs(db: Session, jobs: list[Job], *, now: datetime | None = None) -> list[JobOut]:
    now = now or utcnow()
    board = board_for(db.get_bind())
    running = [j.id for j in jobs if j.state == RUNNING]
    beats = board.read(running) if running else {}
    out = []
    for job in jobs:
        done, total, stage = job.rows_done, job.rows_total, job.stage
        cancel_requested = job.cancel_requested
        beat = beats.get(job.id)
        if beat is not None:
            done, total, stage = beat.rows_done, beat.rows_total, beat.stage
            cancel_requested = cancel_requested or board.cancel_asked(job.id)
        elapsed = (now - job.started_at).total_seconds() if job.started_at else 0.0
        out.append(JobOut(
            id=job.id, kind=job.kind, key=job.key, project_id=job.project_id, state=job.state,
            rows_done=done, rows_total=total, stage=stage,
            percent=round(100 * done / total, 1) if total else None,
            eta_seconds=eta(done=done, total=total, elapsed_seconds=elapsed)
            if job.state == RUNNING else None,
            created_by=job.created_by, created_at=job.created_at, started_at=job.started_at,
            finished_at=job.finished_at, attempts=job.attempts,
            cancel_requested=cancel_requested, result=job.result, error=job.error,
            url=api_url(job.id)))
    return out


def counts_by_state(db: Session) -> dict[tuple[str, str], int]:
    """(kind, state) -> how many jobs, for /metrics."""
    rows = db.execute(select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state))
    return {(k, s): int(n) for k, s, n in rows}
