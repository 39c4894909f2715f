"""The embedded worker: a thread that runs queued jobs without any queue server.

SQLite is the default and the demo database, and procrastinate is PostgreSQL only (it relies on
LISTEN/NOTIFY, row locks and PL/pgSQL functions). So on SQLite the app starts this thread
itself, and ``mutua worker`` runs the same loop in the foreground: take the oldest queued job
whose lock is free (:func:`mutua.jobs.executor.claim`, one UPDATE, so two workers never take the
same job), run it with the same :func:`mutua.jobs.executor.execute` procrastinate calls on
PostgreSQL, and between jobs put back jobs whose worker died (:func:`executor.recover`).

A job asked for in this process wakes the thread at once (:func:`wake`, after the asking
transaction commits); jobs asked for elsewhere are seen within ``POLL_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.engine import Engine

from mutua.db import unit_of_work
from mutua.jobs import executor, queue
from mutua.jobs.notices import notification_round
from mutua.settings import get_settings

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
NOTIFY_SECONDS = 5.0
_wakeup = threading.Event()


def wake() -> None:
    """A job was just queued in this process: look now, not at the next poll."""
    _wakeup.set()


def run_one(engine: Engine, *, worker: str | None = None) -> bool:
    """Put back abandoned jobs, then run the oldest runnable queued job; False if none."""
    executor.recover(engine)
    with unit_of_work(engine) as db:
        candidates = executor.next_queued(db)
    for job_id in candidates:
        try:
            if executor.execute(engine, job_id, worker=worker) is not None:
                return True
        except queue.TransientJobError:
            return True  # queued again; the next turn takes it
    return False


def drain(engine: Engine, *, worker: str | None = None) -> int:
    """Run queued jobs until none is left; how many ran."""
    ran = 0
    while run_one(engine, worker=worker):
        ran += 1
    return ran


class EmbeddedWorker:
    """The loop of :func:`run_one` in a daemon thread, stopped with :meth:`stop`."""

    def __init__(self, engine: Engine, *, poll_seconds: float = POLL_SECONDS,
                 settings=None) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.settings = settings
        self._notified_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> EmbeddedWorker:
        self._thread = threading.Thread(target=self.run, name="mutua-embedded-worker",
                                        daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                ran = run_one(self.engine)
            except Exception:  # the database away for a moment: try again at the next poll
                log.exception("embedded worker: a turn failed")
                ran = False
            if not ran and not self._stop.is_set():
                self.deliver_notifications()
                _wakeup.wait(self.poll_seconds)
                _wakeup.clear()

    def deliver_notifications(self) -> None:
        """Between jobs, at most every NOTIFY_SECONDS: a round over the notifications
        outbox (on PostgreSQL a procrastinate periodic task does this: jobs/queue.py)."""
        if time.monotonic() - self._notified_at < NOTIFY_SECONDS:
            return
        self._notified_at = time.monotonic()

        try:
            notification_round(self.engine, settings=self.settings or get_settings())
        except Exception:  # the next round tries again; a delivery keeps its own state
            log.exception("embedded worker: a notifications round failed")

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to stop after the job it is running (a killed job is put back later)."""
        self._stop.set()
        _wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)


def wanted_in_app(settings, engine: Engine) -> bool:
    """Whether the web app should run an embedded worker (``MUTUA_WORKER_IN_APP``)."""
    if settings.worker_in_app == "auto":
        return engine.dialect.name == "sqlite"
    return settings.worker_in_app == "on"
