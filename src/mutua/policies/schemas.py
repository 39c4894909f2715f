"""Request and response shapes for enrolment and policies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from mutua.bounds import Id


class EnrolIn(BaseModel):
    product_code: str = Field(max_length=40)
    period_code: str = Field(max_length=20)
    member_id: Id | None = Field(default=None, description="staff enrol a member; members omit it")
    payment_reference: str = Field(default="", max_length=64)


class CancelIn(BaseModel):
    reason: str = Field(default="", max_length=64)  # kept as the refund's reference


class BenefitCoverOut(BaseModel):
    code: str
    kind: str
    sum_insured: Decimal
    base_sum_insured: Decimal
    uplift: Decimal


class UpliftOut(BaseModel):
    benefit_code: str
    quarter: str
    effective_from: date
    money: Decimal
    sum_insured_added: Decimal


class PolicyOut(BaseModel):
    id: int
    policy_number: str
    project_code: str
    product_code: str
    period_code: str
    member_id: int
    status: str
    enrolled_on: date
    cover_start: date
    cover_end: date
    premium: Decimal
    refund: Decimal
    occupation_class: int
    age_at_start: int
    coefficient: Decimal
    benefits: list[BenefitCoverOut]
    uplifts: list[UpliftOut] = []
