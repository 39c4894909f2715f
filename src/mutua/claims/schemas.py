"""Request and response shapes of the claims API (理赔)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field, field_validator

from mutua.dates import SHANGHAI


def _aware(value: datetime | None) -> datetime | None:
    """A time without an offset is read as Shanghai local time, where the event happened."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=SHANGHAI)
    return value


class ItemIn(BaseModel):
    """One claimed benefit. Fill the fields its kind needs (see the adjudication rules)."""

    benefit_code: str = Field(max_length=32)
    claimed_amount: Decimal | None = None
    disability_grade: int | None = None
    invoice_amount: Decimal | None = None
    social_insurance_paid: Decimal = Decimal("0")
    other_insurance_paid: Decimal = Decimal("0")
    has_social_insurance: bool = False
    hospital_days: int | None = None
    symptoms_began_at: datetime | None = None
    died_at: datetime | None = None

    _aware_times = field_validator("symptoms_began_at", "died_at")(_aware)


class ClaimIn(BaseModel):
    policy_id: int
    event_type: str = Field(examples=["accident"])
    event_date: date
    event_at: datetime | None = None
    place: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)
    occupation_class_at_event: int | None = Field(default=None, ge=1, le=6)
    items: list[ItemIn] = Field(max_length=20)
    # Staff only: why this is a second, separate event with the same policy, date and type.
    duplicate_reason: str | None = Field(default=None, max_length=500)

    _aware_time = field_validator("event_at")(_aware)


class ItemOverride(BaseModel):
    item_id: int
    approved: Decimal


class DecisionIn(BaseModel):
    """A handler's decision: accept the engine, or override item amounts with a reason."""

    items: list[ItemOverride] = Field(default_factory=list)
    circumstances: list[str] | None = Field(
        default=None, description="exclusion triggers found on review, e.g. drunk_driving")
    reason: str = Field(default="", max_length=2000)


class OverrideAnswerIn(BaseModel):
    """A second handler's answer to an override request; a rejection says why."""

    note: str = Field(default="", max_length=2000)


class OverrideItemOut(BaseModel):
    item_id: int
    approved: Decimal


class OverrideOut(BaseModel):
    """An override above the engine by more than the four-eyes limit, and its answer."""

    id: int
    status: str  # pending | approved | rejected
    requested_by_name: str
    requested_on: date
    items: list[OverrideItemOut]
    reason: str
    engine_amount: Decimal
    approved: Decimal
    above_engine: Decimal
    answered_by_name: str | None
    answer_note: str


class AppealIn(BaseModel):
    reason: str = Field(max_length=2000)


class ReserveIn(BaseModel):
    amount: Decimal
    # A person revising an estimate says why (kept in the audit event, shown in its history).
    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")


class PayIn(BaseModel):
    project: str
    claim_ids: list[int] | None = None


class ItemOut(BaseModel):
    id: int
    benefit_code: str
    kind: str
    claimed_amount: Decimal | None
    disability_grade: int | None
    invoice_amount: Decimal | None
    social_insurance_paid: Decimal
    hospital_days: int | None
    engine_amount: Decimal
    engine_reasons: list[str]
    approved: Decimal
    reasons: list[str]
    uncovered_loss: Decimal


class DecisionOut(BaseModel):
    round: int
    decided_on: date
    outcome: str
    engine_outcome: str
    approved: Decimal
    auto: bool
    overridden: bool
    reason: str
    second_approver: int | None = None


class DocumentOut(BaseModel):
    id: int
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str


class ClaimOut(BaseModel):
    id: int
    claim_number: str
    project_id: int
    policy_id: int
    member_id: int
    event_type: str
    event_date: date
    place: str
    status: str
    outcome: str | None
    reported_on: date
    decided_on: date | None
    approved: Decimal
    paid: Decimal
    uncovered_loss: Decimal
    case_reserve: Decimal
    appeals: int
    can_appeal: bool
    duplicate_of: int | None = None
    duplicate_reason: str | None = None
    pending_override: OverrideOut | None = None
    items: list[ItemOut] = []
    decisions: list[DecisionOut] = []
    overrides: list[OverrideOut] = []
    documents: list[DocumentOut] = []


class ClaimSummary(BaseModel):
    id: int
    claim_number: str
    project_id: int
    member_id: int
    event_type: str
    event_date: date
    status: str
    outcome: str | None
    approved: Decimal
    paid: Decimal
    case_reserve: Decimal


class RefusedOut(BaseModel):
    """An approved item a payment batch left unpaid: above what its benefit can still pay."""

    claim_id: int
    claim_number: str
    item_id: int
    benefit_code: str
    approved: Decimal
    ceiling: Decimal


class BatchOut(BaseModel):
    batch_key: str | None
    project: str
    paid_on: date
    claims: int
    total: Decimal
    refused: list[RefusedOut] = []


class PublishedClaim(BaseModel):
    """A paid claim as the project publishes it (公示): no one can be identified."""

    claim_number: str
    name: str  # masked, e.g. 张*
    age_band: str
    city: str
    event_type: str
    amount_paid: Decimal
    paid_on: date


class TriangleCell(BaseModel):
    origin: str
    development: int
    value: Decimal
