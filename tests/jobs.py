"""Running the jobs a test queued, and reading what they did.

The routes that start long work answer 202 with a job. A test runs every queued job in its own
thread with :func:`finish_jobs` (the app's embedded worker may take some first on SQLite: then
this waits for them), and reads the finished job with :func:`finished`.
"""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.jobs import worker
from mutua.jobs.models import OPEN_STATES, Job

WAIT_SECONDS = 300


def finish_jobs(engine) -> None:
    """Run every queued job here, and wait for those another worker is running."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        worker.drain(engine)
        with Session(engine) as db:
            still_open = db.scalar(select(func.count()).select_from(Job)
                                   .where(Job.state.in_(OPEN_STATES)))
        if not still_open:
            return
        assert time.monotonic() < deadline, "jobs were still open after the wait"
        time.sleep(0.05)


def finished(client, response, headers: dict) -> dict:
    """The job a 202 response named, once it has finished."""
    assert response.status_code == 202, response.text
    finish_jobs(client.app.state.engine)
    job = client.get(response.headers["location"], headers=headers)
    assert job.status_code == 200, job.text
    return job.json()


def result(client, response, headers: dict) -> dict:
    """The result of the job a 202 response named; it must have succeeded."""
    job = finished(client, response, headers)
    assert job["state"] == "succeeded", job
    return job["result"]


def report_of_job(client, answer, report_page: str):
    """A page form that queued an import answers 303 to the job's page: run the job and
    return the import page with its report (``report_page?job=N``). A form refused before
    anything was queued is returned as it is."""
    location = answer.headers.get("location", "") if answer.status_code == 303 else ""
    if not location.startswith("/staff/jobs/"):
        return answer
    finish_jobs(client.app.state.engine)
    job_page = client.get(location)
    assert f"{report_page}?job=" in job_page.text, job_page.text[-3000:]
    return client.get(f"{report_page}?job={location.rsplit('/', 1)[1]}")
