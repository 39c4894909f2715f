"""Request and response shapes for enrolment and policies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from mutua.bounds import Id

# A health declaration's answers: question code -> "yes" / "no" (a product asks at most 10).
Declaration = Annotated[dict[Annotated[str, Field(min_length=1, max_length=40)],
                             Literal["yes", "no"]], Field(max_length=10)]


class EnrolIn(BaseModel):
    product_code: str = Field(max_length=40)
    period_code: str = Field(max_length=20)
    member_id: Id | None = Field(default=None, description="staff enrol a member; members omit it")
    payment_reference: str = Field(default="", max_length=64)
    # the product's health declaration, when it asks one
    declaration: Declaration = {}


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


# --- buying cover as a member (/api/v1/enrolment) ---------------------------------------

class QuoteIn(BaseModel):
    product_code: str = Field(max_length=40)
    period_code: str = Field(max_length=20)
    insured_id: Id | None = Field(default=None, description="a dependant the member pays "
                                  "for (GET /enrolment/dependants); omitted: the member")


class ConfirmIn(QuoteIn):
    declaration: Declaration = {}
    accept_terms: bool = Field(default=False, description="the member read the terms, "
                               "the exclusions and the waiting period")
    auto_renew: bool = Field(default=False, description="renew into the next sale period at "
                             "its price when this cover ends (revocable on the policy)")


class BenefitTermsOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    sum_insured: Decimal  # the product's amount times the member's coefficient
    waiting_days: int


class QuestionOut(BaseModel):
    code: str
    zh: str
    en: str


class OfferOut(BaseModel):
    product_code: str
    period_code: str
    name_zh: str
    name_en: str
    premium: Decimal
    cover_start: date
    cover_end: date
    age: int
    coefficient: Decimal | None
    eligible: bool
    held: bool
    needs_lab_result: bool
    problems: list[dict[str, str]]
    benefits: list[BenefitTermsOut]
    exclusions: list[str]
    cooling_off_days: int
    pay_within_days: int
    declaration: list[QuestionOut]


class DueOut(BaseModel):
    project: str
    reference: str  # pay it with POST /api/v1/premiums/checkout {project, reference}
    amount: Decimal
    pay_by: date


class ConfirmOut(BaseModel):
    policy: PolicyOut
    due: DueOut


class DependantIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    id_number: str = Field(max_length=40, description="resident ID number (GB 11643)")
    relation: str = Field(max_length=8, description="child, parent or spouse")
    occupation_code: str = Field(max_length=12)


class DependantOut(BaseModel):
    id: int
    member_number: str
    name: str
    relation: str
    birth_date: date
    occupation_class: int
