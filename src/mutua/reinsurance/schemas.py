"""Request models of the reinsurance routes; the service names each rule (check_treaty)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from mutua.bounds import Day, ProjectCode, Yuan


class TreatyIn(BaseModel):
    project: ProjectCode
    code: str = Field(max_length=32)
    kind: str = Field(max_length=16, description="per_risk or catastrophe")
    reinsurer: str = Field(max_length=100)
    retention: str = Field(max_length=20, description="yuan, e.g. 50000.00")
    limit: str = Field(max_length=20, description="yuan, e.g. 250000.00")
    rate: str = Field(max_length=12, description="ceded premium per yuan of earned premium")
    reinstatements: int = Field(ge=0, le=10)
    reinstatement_rate: str = Field(default="0", max_length=12)
    starts_on: Day
    ends_on: Day


class ReceiveIn(BaseModel):
    on: Day | None = None


class PremiumPaymentIn(BaseModel):
    project: ProjectCode
    amount: Yuan
    on: Day | None = None
