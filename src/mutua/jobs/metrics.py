"""Job gauges for ``/metrics``, read from the jobs table at scrape time.

Workers run in processes of their own (``mutua worker``, or the app's embedded thread), so the
figures come from the table every worker writes, not from any one process's counters:

- ``mutua_jobs{kind, state}``: how many jobs are queued, running, succeeded, failed, cancelled;
- ``mutua_job_oldest_queued_seconds{kind}``: how long the oldest queued job has waited (a queue
  that grows while workers idle, or no worker at all);
- ``mutua_job_running_seconds{kind}``: how long the longest running job has run;
- ``mutua_job_duration_seconds{kind, state}``: the mean and the longest run of the jobs that
  finished in the last day (``stat="mean"|"max"``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from mutua.dates import utcnow
from mutua.jobs.models import FINISHED_STATES, QUEUED, RUNNING, Job

TTL_SECONDS = 5.0  # jobs move fast: a short cache still spares the database a scrape storm
RECENT = timedelta(days=1)


class JobsCollector:
    def __init__(self, engine) -> None:
        self.engine = engine
        self._cached: list[Metric] = []
        self._at = -TTL_SECONDS

    def collect(self) -> Iterable[Metric]:
        now = time.monotonic()
        if now - self._at >= TTL_SECONDS:
            try:
                self._cached = self._measure()
            except SQLAlchemyError:
                self._cached = []  # no jobs table yet
            self._at = now
        return self._cached

    def _measure(self) -> list[Metric]:
        counts = GaugeMetricFamily("mutua_jobs", "Jobs by kind and state.", labels=["kind", "state"])
        waiting = GaugeMetricFamily("mutua_job_oldest_queued_seconds",
                                    "How long the oldest queued job has waited.", labels=["kind"])
        running = GaugeMetricFamily("mutua_job_running_seconds",
                                    "How long the longest running job has run.", labels=["kind"])
        durations = GaugeMetricFamily(
            "mutua_job_duration_seconds", "Run time of the jobs finished in the last day.",
            labels=["kind", "state", "stat"])
        now = utcnow()
        with Session(self.engine) as db:
            for kind, state, n in db.execute(select(Job.kind, Job.state, func.count())
                                             .group_by(Job.kind, Job.state)):
                counts.add_metric([kind, state], float(n))
            for kind, oldest in db.execute(select(Job.kind, func.min(Job.created_at))
                                           .where(Job.state == QUEUED).group_by(Job.kind)):
                waiting.add_metric([kind], _seconds(now, oldest))
            for kind, earliest in db.execute(select(Job.kind, func.min(Job.started_at))
                                             .where(Job.state == RUNNING).group_by(Job.kind)):
                running.add_metric([kind], _seconds(now, earliest))
            self._durations(db, durations, since=now - RECENT)
        return [counts, waiting, running, durations]

    @staticmethod
    def _durations(db: Session, family: GaugeMetricFamily, *, since) -> None:
        rows = db.execute(select(Job.kind, Job.state, Job.started_at, Job.finished_at).where(
            Job.state.in_(FINISHED_STATES), Job.finished_at >= since,
            Job.started_at.is_not(None)))
        runs: dict[tuple[str, str], list[float]] = {}
        for kind, state, started, finished in rows:
            runs.setdefault((kind, state), []).append((finished - started).total_seconds())
        for (kind, state), seconds in runs.items():
            family.add_metric([kind, state, "mean"], sum(seconds) / len(seconds))
            family.add_metric([kind, state, "max"], max(seconds))


def _seconds(now, then) -> float:
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0
