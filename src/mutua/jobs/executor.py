"""Running a job: claim its row, do its work in one unit of work, record how it ended.

The same :func:`execute` runs under procrastinate (PostgreSQL), under the embedded worker
thread (SQLite) and in a CLI that waits for its own job. Claiming is one UPDATE from
``queued`` to ``running``, so only one runner ever does a job's work, whoever delivered it.

The work and the job's final state commit together: a runner killed at any point leaves
either the finished work with its ``succeeded`` row, or no work and a ``running`` row whose
worker is gone. :func:`recover` finds such rows (the worker's process is gone from this
machine, or its heartbeat is older than ``job_stale_seconds``) and queues them again; work
that commits in steps (the demo build) is marked failed instead, to be started afresh.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, aliased

from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.dates import utcnow
from mutua.db import unit_of_work
from mutua.errors import DomainError, NotFound
from mutua.jobs import kinds, queue
from mutua.jobs.board import Board, board_for
from mutua.jobs.models import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job, JobInput
from mutua.ops.logs import mask
from mutua.settings import get_settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # runs of one job, counting those a passing error or a dead worker cut short
REPORT_EVERY_SECONDS = 0.5  # progress reaches the board at most this often


class JobCancelled(Exception):
    """Raised inside a job's work at its next progress report once a cancel was asked."""


def worker_name() -> str:
    """This process, as recorded on the jobs it runs: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def process_gone(worker: str | None) -> bool:
    """True when ``worker`` names a process on this machine that no longer exists."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process with that id: alive
        return False
    return False


def stale_seconds() -> float:
    return get_settings().job_stale_seconds


# ---------------------------------------------------------------- progress and heartbeat

class Reporter:
    """The ``progress(done, total, stage)`` a job's work calls; it raises JobCancelled once a
    cancel was asked, so the work's transaction rolls back and nothing of it stays."""

    def __init__(self, board: Board, job_id: int) -> None:
        self.board, self.job_id = board, job_id
        self.done, self.total, self.stage = 0, None, ""
        self._last = 0.0
        self._cancelled = threading.Event()

    def __call__(self, done: int, total: int | None = None, stage: str | None = None) -> None:
        self.done, self.total = int(done), (None if total is None else int(total))
        if stage is not None:
            self.stage = stage
        now = time.monotonic()
        finished = self.total is not None and self.done >= self.total
        if now - self._last >= REPORT_EVERY_SECONDS or finished:
            self._last = now
            self.board.report(self.job_id, self.done, self.total, self.stage)
            if self.board.cancel_asked(self.job_id):
                self._cancelled.set()
        if self._cancelled.is_set():
            raise JobCancelled

    def beat(self) -> None:
        """The latest progress (held back by the throttle, maybe) doubles as the heartbeat."""
        self.board.report(self.job_id, self.done, self.total, self.stage)
        if self.board.cancel_asked(self.job_id):
            self._cancelled.set()


class Heartbeat:
    """A thread that beats for a running job, so others can tell it from a dead one."""

    def __init__(self, reporter: Reporter, every: float) -> None:
        self.reporter, self.every = reporter, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mutua-job-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.reporter.beat()
            except Exception:  # a missed beat is not the job's failure
                log.warning("job %s: heartbeat failed", self.reporter.job_id, exc_info=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------- claiming

def _lock_free():
    """No other job with the same lock is running."""
    other = aliased(Job)
    return (Job.lock.is_(None)
            | ~exists().where(other.lock == Job.lock, other.state == RUNNING, other.id != Job.id))


def claim(db: Session, job_id: int, worker: str) -> Job | None:
    """Take a queued job for ``worker``; None if it is not queued (taken, cancelled, done)."""
    now = utcnow()
    taken = db.execute(
        update(Job).where(Job.id == job_id, Job.state == QUEUED, _lock_free())
        .values(state=RUNNING, worker=worker, heartbeat_at=now, attempts=Job.attempts + 1,
                rows_done=0, rows_total=None, stage="", started_at=now)
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        return None
    return db.get(Job, job_id, populate_existing=True)


def next_queued(db: Session, *, limit: int = 5) -> list[int]:
    """The oldest queued jobs whose lock is free, to try to claim in turn."""
    return list(db.scalars(select(Job.id).where(Job.state == QUEUED, _lock_free())
                           .order_by(Job.id).limit(limit)))


# ---------------------------------------------------------------- running

@dataclass(frozen=True)
class Taken:
    """What a runner needs of its claimed job once the claim has committed."""

    id: int
    kind: str
    params: dict
    actor: Principal
    attempts: int


def _taken(job: Job) -> Taken:
    actor = Principal(user_id=job.created_by_user_id, username=job.created_by,
                      role=Role(job.created_by_role))
    return Taken(job.id, job.kind, dict(job.params or {}), actor, job.attempts)


def execute(engine: Engine, job_id: int, *, worker: str | None = None) -> str | None:
    """Claim and run one job; its final state, or None if it was not this runner's to run."""
    with unit_of_work(engine) as db:
        job = claim(db, job_id, worker or worker_name())
        taken = _taken(job) if job is not None else None
    if taken is None:
        return None
    board = board_for(engine)
    reporter = Reporter(board, taken.id)
    board.report(taken.id, 0, None, "")
    try:
        with Heartbeat(reporter, every=max(stale_seconds() / 4, 0.25)):
            return _run(engine, taken, reporter)
    finally:
        board.clear(taken.id)


def _run(engine: Engine, taken: Taken, reporter: Reporter) -> str:
    kind = kinds.kind_of(taken.kind)
    try:
        with unit_of_work(engine) as db:
            work = kinds.Work(taken.id, taken.params, taken.actor, reporter, engine,
                              load_input=lambda: _load_input(db, taken.id))
            result = kind.run(db, work)
            _end(db, taken.id, SUCCEEDED, result=kinds.as_json(result), reporter=reporter)
        return SUCCEEDED
    except JobCancelled:
        return _end_apart(engine, taken.id, CANCELLED, reporter=reporter,
                          asked_by=reporter.board.cancel_asked_by(taken.id), actor=taken.actor)
    except DomainError as exc:
        return _end_apart(engine, taken.id, FAILED, error=kinds.as_json(exc.to_record()),
                          reporter=reporter)
    except OperationalError as exc:  # a lost connection, a deadlock, a locked SQLite file
        if taken.attempts < MAX_ATTEMPTS:
            log.warning("job %s: passing database error, queued again: %s", taken.id,
                        _safe_message(exc))
            _requeue(engine, taken.id, delay_seconds=queue.RETRY_WAIT_SECONDS)
            raise queue.TransientJobError(str(taken.id)) from None
        return _failed_unexpectedly(engine, taken.id, exc, reporter)
    except Exception as exc:
        return _failed_unexpectedly(engine, taken.id, exc, reporter)


def _failed_unexpectedly(engine: Engine, job_id: int, exc: Exception, reporter: Reporter) -> str:
    log.exception("job %s failed", job_id)
    return _end_apart(engine, job_id, FAILED, reporter=reporter,
                      error={"error": "internal", "message": _safe_message(exc)})


def _safe_message(exc: Exception) -> str:
    """The first line of the error, never a statement's parameters (they carry personal data)."""
    detail = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first = (str(detail).strip().splitlines() or [""])[0]
    return mask(f"{type(exc).__name__}: {first}")[:500]


def _load_input(db: Session, job_id: int) -> tuple[str, bytes]:
    row = db.get(JobInput, job_id)
    if row is None:
        raise NotFound("job %(job_id)s has no input file", job_id=job_id)
    return row.filename, bytes(row.data)


def _end(db: Session, job_id: int, state: str, *, reporter: Reporter, result=None,
         error=None) -> None:
    """Write how the job ended; its uploaded file goes (it may hold personal data)."""
    done = reporter.done if reporter.total is None else max(reporter.done, reporter.total)
    db.execute(update(Job).where(Job.id == job_id).values(
        state=state, result=result, error=error, finished_at=utcnow(), rows_done=done,
        rows_total=reporter.total, stage=reporter.stage[:60])
        .execution_options(synchronize_session=False))
    db.execute(delete(JobInput).where(JobInput.job_id == job_id))


def _end_apart(engine: Engine, job_id: int, state: str, *, reporter: Reporter, error=None,
               asked_by: str | None = None, actor: Principal | None = None) -> str:
    """End a job whose work rolled back, in a transaction of its own. A cancel asked through
    the board (SQLite) is audited here, naming who asked."""
    with unit_of_work(engine) as db:
        _end(db, job_id, state, reporter=reporter, error=error)
        if asked_by is not None and actor is not None:
            audit.record(db, actor=actor, action="jobs.cancel", entity="job", entity_id=job_id,
                         detail={"asked_by": asked_by, "rows_done": reporter.done})
    return state


def _requeue(engine: Engine, job_id: int, *, delay_seconds: float) -> None:
    with unit_of_work(engine) as db:
        db.execute(update(Job).where(Job.id == job_id, Job.state == RUNNING)
                   .values(state=QUEUED, worker=None)
                   .execution_options(synchronize_session=False))


# ---------------------------------------------------------------- recovery

def abandoned(db: Session, *, board: Board, stale: float, now: datetime) -> list[Job]:
    """Running jobs whose runner is gone: its process is no longer on this machine, or it
    has not beaten for ``stale`` seconds."""
    running = list(db.scalars(select(Job).where(Job.state == RUNNING)))
    beats = board.read([j.id for j in running])
    out = []
    for job in running:
        beat = beats.get(job.id)
        heard = [t for t in (job.heartbeat_at, beat.at if beat else None, job.started_at) if t]
        if process_gone(job.worker) or not heard or now - max(heard) > timedelta(seconds=stale):
            out.append(job)
    return out


def recover(engine: Engine, *, stale: float | None = None) -> list[int]:
    """Queue again (or fail) the jobs whose worker died; returns their ids."""
    stale = stale_seconds() if stale is None else stale
    board = board_for(engine)
    with unit_of_work(engine) as db:
        jobs = abandoned(db, board=board, stale=stale, now=utcnow())
        for job in jobs:
            _put_back(db, job)
    for job in jobs:
        board.clear(job.id)
    return [j.id for j in jobs]


def _put_back(db: Session, job: Job) -> None:
    kind = kinds.KINDS.get(job.kind)
    log.warning("job %s (%s): its worker %s is gone", job.id, job.kind, job.worker)
    if kind is not None and kind.rerun_after_crash and job.attempts < MAX_ATTEMPTS:
        job.state, job.worker = QUEUED, None
        db.flush()
        queue.redeliver(db, job)
        return
    job.state, job.finished_at = FAILED, utcnow()
    job.error = {"error": "interrupted",
                 "message": "the worker stopped during this job; what it had committed stays: "
                            "start it again from the beginning" if kind and not
                            kind.rerun_after_crash else
                            f"the worker stopped during this job {job.attempts} times"}
    db.execute(delete(JobInput).where(JobInput.job_id == job.id))
