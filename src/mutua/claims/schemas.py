"""Request and response shapes of the claims API (理赔)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from mutua.bounds import MAX_YUAN, Day, Id, Moment, Yuan
from mutua.dates import SHANGHAI


def _aware(value: datetime | None) -> datetime | None:
    """A time without an offset is read as Shanghai local time, where the event happened."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=SHANGHAI)
    return value


class ItemIn(BaseModel):
    """One claimed benefit. Fill the fields its kind needs (see the adjudication rules)."""

    benefit_code: str = Field(max_length=32)
    claimed_amount: Yuan | None = None
    disability_grade: Annotated[int, Field(ge=1, le=10)] | None = None
    invoice_amount: Yuan | None = None
    social_insurance_paid: Yuan = Decimal("0")
    other_insurance_paid: Yuan = Decimal("0")
    has_social_insurance: bool = False
    hospital_days: Annotated[int, Field(ge=0, le=3660)] | None = None
    symptoms_began_at: Moment | None = None
    died_at: Moment | None = None

    _aware_times = field_validator("symptoms_began_at", "died_at")(_aware)


class ClaimIn(BaseModel):
    policy_id: Id
    event_type: str = Field(max_length=16, examples=["accident"])
    event_date: Day
    event_at: Moment | None = None
    place: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)
    occupation_class_at_event: int | None = Field(default=None, ge=1, le=6)
    items: list[ItemIn] = Field(max_length=20)
    # Staff only: why this is a second, separate event with the same policy, date and type.
    duplicate_reason: str | None = Field(default=None, max_length=500)

    _aware_time = field_validator("event_at")(_aware)


class ItemOverride(BaseModel):
    item_id: Id
    approved: Yuan


class DecisionIn(BaseModel):
    """A handler's decision: accept the engine, or override item amounts with a reason."""

    items: list[ItemOverride] = Field(default_factory=list, max_length=20)
    circumstances: list[Annotated[str, Field(max_length=40)]] | None = Field(
        default=None, max_length=20,
        description="exclusion triggers found on review, e.g. drunk_driving")
    reason: str = Field(default="", max_length=2000)
    documents_reason: str = Field(
        default="", max_length=2000,
        description="why money is approved without every document the benefits require")


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


class DocumentsRequestIn(BaseModel):
    """A request to the member for the documents still missing (stops the clock)."""

    kinds: list[Annotated[str, Field(max_length=24)]] = Field(max_length=10)
    note: str = Field(default="", max_length=2000)


class AssignIn(BaseModel):
    """The handler a claim goes to (username), or "" to take it back."""

    handler: str = Field(default="", max_length=64)


class DeclineIn(BaseModel):
    """Declining a claim: the written reason the member reads."""

    reason: str = Field(max_length=2000)


class AppealIn(BaseModel):
    reason: str = Field(max_length=2000)


class ReserveIn(BaseModel):
    amount: Annotated[Decimal, Field(ge=-MAX_YUAN, le=MAX_YUAN)]
    # A person revising an estimate says why (kept in the audit event, shown in its history).
    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")


class PayIn(BaseModel):
    project: str = Field(max_length=32)
    claim_ids: list[Id] | None = Field(default=None, max_length=100_000)


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
    documents_reason: str = ""
    second_approver: int | None = None


class DocumentOut(BaseModel):
    id: int
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str


class ChecklistItemOut(BaseModel):
    """One document the claim's benefits require, and whether it is on file."""

    kind: str
    present: bool


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
    assigned_name: str | None = None
    decision_due_on: date | None = None
    overdue: bool = False
    documents_requested_on: date | None = None
    documents_request: str | None = None
    pending_override: OverrideOut | None = None
    items: list[ItemOut] = []
    decisions: list[DecisionOut] = []
    overrides: list[OverrideOut] = []
    documents: list[DocumentOut] = []
    checklist: list[ChecklistItemOut] = []


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
    assigned_name: str | None = None
    decision_due_on: date | None = None
    overdue: bool = False
    documents_requested_on: date | None = None
    documents_request: str | None = None


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
