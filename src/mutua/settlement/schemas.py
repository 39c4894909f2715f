"""Request shapes of the settlement API (statements are returned as the close wrote them)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from mutua.bounds import MAX_YUAN, ProjectCode, QuarterName

Share = Annotated[Decimal, Field(ge=0, le=1, decimal_places=4)]


class CloseIn(BaseModel):
    project: ProjectCode
    quarter: QuarterName
    dry_run: bool = False


class AllocationPolicyIn(BaseModel):
    project: ProjectCode
    uplift: Share = Field(examples=["0.70"])
    aid: Share = Field(examples=["0.20"])
    services: Share = Field(examples=["0.10"])
    effective_from: QuarterName = Field(examples=["2026Q4"])
    source: str = Field(default="staff", max_length=60)


class AllocationPolicyOut(BaseModel):
    id: int
    version: int
    effective_from: str
    uplift: Decimal
    aid: Decimal
    services: Decimal
    source: str


class ExpenseIn(BaseModel):
    project: ProjectCode
    quarter: QuarterName
    # Signs and decimals are the service's rules (the finance page's, in its words).
    amount: Annotated[Decimal, Field(ge=-MAX_YUAN, le=MAX_YUAN)]
    memo: str = Field(default="", max_length=200)
    # staff | systems | claims_handling | member_services (the service names the rule).
    category: str = Field(default="staff", max_length=20)


class SolvencyFactorIn(BaseModel):
    """A line's C-ROSS risk factors from a quarter on; the service names each rule."""

    line: str = Field(max_length=20)
    premium_factor: str = Field(max_length=12)
    reserve_factor: str = Field(max_length=12)
    effective_from: QuarterName
    source: str = Field(max_length=200)
    demo: bool = False
