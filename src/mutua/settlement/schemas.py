"""Request shapes of the settlement API (statements are returned as the close wrote them)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field


class CloseIn(BaseModel):
    project: str = Field(examples=["SZ-NEWCITIZEN"])
    quarter: str = Field(examples=["2026Q3"])
    dry_run: bool = False


class AllocationPolicyIn(BaseModel):
    project: str
    uplift: Decimal = Field(examples=["0.70"])
    aid: Decimal = Field(examples=["0.20"])
    services: Decimal = Field(examples=["0.10"])
    effective_from: str = Field(examples=["2026Q4"])
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
    project: str
    quarter: str
    amount: Decimal
    memo: str = Field(default="", max_length=200)
