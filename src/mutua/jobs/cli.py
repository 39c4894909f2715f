"""`mutua jobs ...` and `mutua worker`: follow, list and cancel jobs; run a worker.

Commands that start long work (``settle run``, ``claims pay``, ``members import``,
``health import``, ``demo``) queue a job through :func:`submit` and then either wait for it
with a progress bar (the default) or print its id and return (``--detach``). Waiting runs the
job in this process when nothing else will: always on SQLite (first come, first served with
the app's embedded worker), and on PostgreSQL when no ``mutua worker`` is alive.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable

import typer
from sqlalchemy.orm import Session

from mutua.auth.security import SYSTEM
from mutua.db import get_engine, unit_of_work
from mutua.errors import DomainError
from mutua.jobs import executor, queue, service
from mutua.jobs import worker as embedded
from mutua.jobs.models import Job
from mutua.ops import logs

app = typer.Typer(help="Background jobs: follow, list, cancel.", no_args_is_help=True)
AsJson = typer.Option(False, "--json", help="print machine-readable JSON")
Detach = typer.Option(False, "--detach", help="queue the job, print its id and return")
FOLLOW_EVERY_SECONDS = 0.25


class JobFailed(DomainError):
    """A waited-for job ended failed or cancelled: its message, exit code 2."""

    def __init__(self, job: dict):
        error = job.get("error") or {}
        what = error.get("message") or job["state"]
        super().__init__(f"job {job['id']} {job['state']}: {what}")
        self.job = job


# ---------------------------------------------------------------- starting and following

def submit(start: Callable[[Session], Job], *, detach: bool = False,
           quiet: bool = False) -> dict | None:
    """Queue a job with ``start(db)`` (a :mod:`mutua.jobs.starts` function); wait for it and
    return the finished job as a dict, or with ``detach`` print its id and return None. The
    same work already open is followed instead."""
    engine = get_engine()
    try:
        with unit_of_work(engine) as db:
            job_id = start(db).id
    except service.JobAlreadyOpen as open_job:
        job_id = open_job.job_id
        typer.echo(f"{open_job.message}; following it", err=True)
    if detach:
        typer.echo(json.dumps({"job_id": job_id, "url": service.api_url(job_id)})
                   if quiet else f"queued as job {job_id}; follow it with `mutua jobs wait {job_id}`")
        return None
    return follow(job_id, show=not quiet)


def follow(job_id: int, *, show: bool = True) -> dict:
    """Wait for a job to finish, running it here if no worker will; the finished job."""
    engine = get_engine()
    runner: threading.Thread | None = None
    with _bar(show) as update:
        while True:
            with unit_of_work(engine) as db:
                job = service.to_out(db, service.get(db, job_id=job_id, actor=SYSTEM))
            update(job)
            if job.state not in ("queued", "running"):
                break
            if runner is None or not runner.is_alive():
                runner = _run_here_if_nobody_will(engine, job) or runner
            time.sleep(FOLLOW_EVERY_SECONDS)
    if runner is not None:
        runner.join()
    return job.model_dump(mode="json")


def _run_here_if_nobody_will(engine, job) -> threading.Thread | None:
    """Start running a queued job in this process when no worker is there to take it."""
    if job.state == "running":
        executor.recover(engine)  # its worker may be dead (killed): it is then queued again
        return None
    if queue.uses_queue(engine):
        with unit_of_work(engine) as db:
            if queue.workers_alive(db, stale_seconds=executor.stale_seconds()):
                return None

    def run() -> None:
        with contextlib.suppress(queue.TransientJobError):  # queued again: follow() retakes it
            executor.execute(engine, job.id)

    thread = threading.Thread(target=run, name=f"mutua-job-{job.id}", daemon=True)
    thread.start()
    return thread


class _bar:
    """A Rich progress bar on stderr fed with the job's state (or nothing when quiet)."""

    def __init__(self, show: bool) -> None:
        self.show = show

    def __enter__(self):
        if not self.show:
            return lambda job: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=False)
        self.progress.__enter__()
        self.task = None

        def update(job) -> None:
            label = f"job {job.id} {job.kind} {job.state}{': ' + job.stage if job.stage else ''}"
            if self.task is None:
                self.task = self.progress.add_task(label, total=job.rows_total)
            self.progress.update(self.task, description=label, total=job.rows_total,
                                 completed=job.rows_done)

        return update

    def __exit__(self, *exc) -> None:
        if self.show:
            self.progress.__exit__(*exc)


def finished_or_fail(job: dict) -> dict:
    """The job's result if it succeeded; JobFailed (one line, exit 2) otherwise."""
    if job["state"] != "succeeded":
        raise JobFailed(job)
    return job["result"] or {}


# ---------------------------------------------------------------- mutua jobs ...

def _show(job: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(job, ensure_ascii=False))
        return
    total = job["rows_total"]
    progress = f"{job['rows_done']:,}/{total:,}" if total else f"{job['rows_done']:,}"
    typer.echo(f"{job['id']:>6}  {job['kind']:<18} {job['state']:<10} {progress:>15}  "
               f"{job['key']}  by {job['created_by']}")
    if job.get("error"):
        typer.echo(f"        error: {job['error'].get('message')}")


@app.command("list")
def list_jobs(state: str | None = typer.Option(None, help="queued, running, succeeded, ..."),
              kind: str | None = typer.Option(None), limit: int = typer.Option(20),
              as_json: bool = AsJson) -> None:
    """Recent jobs, newest first."""
    with unit_of_work() as db:
        rows, total = service.list_jobs(db, actor=SYSTEM, kind=kind, state=state, limit=limit)
        items = [j.model_dump(mode="json") for j in service.to_outs(db, rows)]
    if as_json:
        typer.echo(json.dumps({"total": total, "items": items}, ensure_ascii=False))
        return
    for job in items:
        _show(job, False)


@app.command("show")
def show(job_id: int, as_json: bool = AsJson) -> None:
    """One job: state, progress, result or error."""
    with unit_of_work() as db:
        job = service.to_out(db, service.get(db, job_id=job_id, actor=SYSTEM))
    _show(job.model_dump(mode="json"), as_json)
    if not as_json and job.result:
        typer.echo(json.dumps(job.result, ensure_ascii=False, indent=2))


@app.command("wait")
def wait(job_id: int, as_json: bool = AsJson) -> None:
    """Follow a job to its end with a progress bar (running it here if no worker will)."""
    job = follow(job_id, show=not as_json)
    _show(job, as_json)
    if job["state"] != "succeeded":
        raise typer.Exit(2)


@app.command("cancel")
def cancel(job_id: int, as_json: bool = AsJson) -> None:
    """Cancel a queued job, or stop a running one at its next progress report."""
    with unit_of_work() as db:
        job = service.to_out(db, service.cancel(db, job_id=job_id, actor=SYSTEM))
    _show(job.model_dump(mode="json"), as_json)


# ---------------------------------------------------------------- mutua worker

def worker(concurrency: int = typer.Option(1, min=1, max=32,
                                           help="jobs run at once (PostgreSQL only)"),
           name: str | None = typer.Option(None, help="worker name in logs"),
           until_empty: bool = typer.Option(False, "--until-empty",
                                            help="stop once no job is waiting")) -> None:
    """Run a worker: procrastinate on PostgreSQL, the embedded loop on SQLite."""
    import logging
    import signal


    logs.install()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    engine = get_engine()
    if queue.uses_queue(engine):
        if until_empty:
            executor.recover(engine)
        queue.run_worker(engine, concurrency=concurrency, name=name or executor.worker_name(),
                         stale_seconds=executor.stale_seconds(), wait=not until_empty)
        return
    if until_empty:
        embedded.drain(engine)
        return
    loop = embedded.EmbeddedWorker(engine)
    signal.signal(signal.SIGTERM, lambda *_: loop.stop(timeout=0))
    try:
        loop.run()
    except KeyboardInterrupt:
        loop.stop(timeout=0)
