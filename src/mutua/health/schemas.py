"""Request and response shapes of the health API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class ObservationIn(BaseModel):
    """One result: give the LOINC code (preferred) or our kind, the value and its unit."""

    model_config = ConfigDict(extra="forbid")

    member_id: int
    loinc: str | None = Field(default=None, max_length=10)
    kind: str | None = Field(default=None, max_length=16)
    value: float | str
    unit: str | None = Field(default=None, max_length=24)
    effective_at: datetime | date


class ObservationsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ObservationIn] = Field(min_length=1, max_length=1000)


class AlertAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(pattern="^(acknowledge|contact|resolve)$")
    note: str = Field(default="", max_length=2000)


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coordinator_user_id: int
