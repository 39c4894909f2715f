"""The jobs pages (/staff/jobs): every job the reader's role runs, and one job's state,
progress, result or error, refreshed while it runs; a queued or running job can be cancelled.

Pages that start long work (the close, a payment batch) queue a job and send the reader here.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Query, Request

from mutua.auth.security import Principal
from mutua.deps import MAX_OFFSET, DbSession, PathId, Router, refusal_undone
from mutua.errors import Conflict, Problem
from mutua.jobs import service
from mutua.jobs.models import Job
from mutua.web.pages.staff import open_to
from mutua.web.problems import describe, describe_all, message_words
from mutua.web.render import N_, redirect, render

router = Router(prefix="/staff/jobs")
PAGE = 50
REFRESH_SECONDS = 2

KIND_LABELS = {"settlement.close": N_("Quarterly close"), "claims.pay": N_("Claims payment batch"),
               "members.import": N_("Group enrolment import"),
               "health.import": N_("Lab results import"), "demo.build": N_("Demo build"),
               "premiums.collection": N_("Premium collection file"),
               "premiums.lapse": N_("Lapse of unpaid policies"),
               "policies.renew": N_("Group renewal"),
               "privacy.purge": N_("Purge of records past retention")}
STATE_LABELS = {"queued": N_("Queued"), "running": N_("Running"), "succeeded": N_("Done"),
                "failed": N_("Failed"), "cancelled": N_("Cancelled")}
STAGE_LABELS = {"computing": N_("computing the close"), "writing": N_("writing the close"),
                "paying": N_("paying"), "reading": N_("reading the file"),
                "checking rows": N_("checking rows"), "enrolling": N_("enrolling"),
                "checking": N_("checking results"), "storing": N_("storing results"),
                "purging": N_("deleting records past retention")}


def job_path(job_id: int) -> str:
    return f"/staff/jobs/{job_id}"


def start_and_follow(db, start: Callable[[], Job]):
    """Start a job and go to its page; when the same work is already queued or running,
    go to that job's page instead (nothing new is stored)."""
    try:
        with refusal_undone(db):
            job = start()
    except service.JobAlreadyOpen as open_job:
        return redirect(job_path(open_job.job_id))
    return redirect(job_path(job.id))


@router.get("")
def jobs_page(request: Request, db: DbSession, principal: Principal = open_to("jobs"),
              state: str = Query("", max_length=12), offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    state = state if state in STATE_LABELS else ""
    rows, total = service.list_jobs(db, actor=principal, state=state or None, limit=PAGE,
                                    offset=offset)
    return render(request, "staff/jobs.html", jobs=service.to_outs(db, rows), total=total,
                  state=state, states=STATE_LABELS, offset=offset, page=PAGE,
                  more=offset + PAGE < total, kinds=KIND_LABELS, stages=STAGE_LABELS,
                  refresh=REFRESH_SECONDS if any(r.state in ("queued", "running") for r in rows)
                  else None)


@router.get("/{job_id}")
def job_page(job_id: PathId, request: Request, db: DbSession,
             principal: Principal = open_to("jobs")):
    job = service.to_out(db, service.get(db, job_id=job_id, actor=principal))
    return _job(request, job)


@router.post("/{job_id}/cancel")
def cancel(job_id: PathId, request: Request, db: DbSession, principal: Principal = open_to("jobs")):
    try:
        with refusal_undone(db):
            service.cancel(db, job_id=job_id, actor=principal)
    except Conflict as exc:
        job = service.to_out(db, service.get(db, job_id=job_id, actor=principal))
        return _job(request, job, problems=describe_all(exc), status_code=409)
    return redirect(job_path(job_id))


def _job(request, job, *, problems=None, status_code: int = 200):
    error = job.error or {}
    error_lines = ([describe(Problem.from_record(p)) for p in error.get("problems", [])]
                   or ([message_words(error)] if error.get("message") else []))
    return render(request, "staff/job.html", status_code=status_code, job=job,
                  kind_label=KIND_LABELS.get(job.kind, job.kind), states=STATE_LABELS, stages=STAGE_LABELS,
                  problems=problems or [], error_lines=error_lines,
                  refresh=REFRESH_SECONDS if job.state in ("queued", "running") else None)
