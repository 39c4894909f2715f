"""HTTP routes under /api/v1/jobs: read a job's state and progress, list jobs, cancel one.

The routes that start long work (a close, a payment batch, an import, a lab file) answer
``202 Accepted`` with the job and a ``Location`` header naming it here. Staff read the jobs of
the kinds their role runs (admin reads all); another kind's job is a 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Response

from mutua.auth.roles import STAFF_ROLES
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.deps import DbSession, Page, Paging, PathId, Router, allow, as_json
from mutua.jobs import service
from mutua.jobs.models import Job
from mutua.jobs.schemas import JobOut

router = Router(prefix="/jobs", tags=["jobs"])

Staff = Annotated[Principal, Depends(allow(*STAFF_ROLES))]


def accepted(db, job: Job) -> Response:
    """The answer of a route that queued work: 202, the job, and where to follow it."""
    response = as_json(service.to_out(db, job), status_code=202)
    response.headers["Location"] = service.api_url(job.id)
    return response


@router.get("", response_model=Page[JobOut])
def list_jobs(db: DbSession, actor: Staff, paging: Paging,
              kind: Annotated[str | None, Query(max_length=40)] = None,
              state: Annotated[str | None, Query(max_length=12)] = None,
              project: Annotated[str | None, Query(max_length=32)] = None) -> Page[JobOut]:
    """Jobs the caller may read, newest first; filter by kind, state or project code."""
    project_id = catalog_service.get_project(db, code=project).id if project else None
    rows, total = service.list_jobs(db, actor=actor, kind=kind, state=state,
                                    project_id=project_id, limit=paging.limit,
                                    offset=paging.offset)
    return Page(items=service.to_outs(db, rows), total=total, limit=paging.limit,
                offset=paging.offset)


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: PathId, db: DbSession, actor: Staff) -> JobOut:
    """State, progress (rows done of total, percent, seconds left) and result or error."""
    return service.to_out(db, service.get(db, job_id=job_id, actor=actor))


@router.post("/{job_id}/cancel", response_model=JobOut)
def cancel_job(job_id: PathId, db: DbSession, actor: Staff) -> JobOut:
    """Cancel a queued job, or stop a running one at its next progress report (its work
    rolls back whole). A finished job answers 409."""
    return service.to_out(db, service.cancel(db, job_id=job_id, actor=actor))
