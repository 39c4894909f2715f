"""Request and response shapes of the health API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mutua.bounds import Day, Id, Moment


class ObservationIn(BaseModel):
    """One result: give the LOINC code (preferred) or our kind, the value and its unit."""

    model_config = ConfigDict(extra="forbid")

    member_id: Id
    loinc: str | None = Field(default=None, max_length=10)
    kind: str | None = Field(default=None, max_length=16)
    # A number, or its digits as sent by a lab; plausibility is the ingest's rule.
    value: Annotated[float, Field(ge=-1e6, le=1e6)] | Annotated[str, Field(max_length=32)]
    unit: str | None = Field(default=None, max_length=24)
    effective_at: Moment | Day


class ObservationsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ObservationIn] = Field(min_length=1, max_length=1000)


class AlertAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(pattern="^(acknowledge|contact|resolve)$", max_length=12)
    note: str = Field(default="", max_length=2000)


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coordinator_user_id: Id
