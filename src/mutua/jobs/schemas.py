"""What the API answers about a job."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class JobOut(BaseModel):
    """A job: its state, its progress (rows done of total, percent, seconds left at the pace
    so far) and, once finished, its result or its error."""

    id: int
    kind: str
    key: str
    project_id: int | None
    state: str  # queued, running, succeeded, failed, cancelled
    rows_done: int
    rows_total: int | None
    stage: str
    percent: float | None
    eta_seconds: float | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    cancel_requested: bool
    result: dict | None
    error: dict | None
    url: str
