"""Request and response bodies of /api/v1/governance."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ProposalIn(BaseModel):
    kind: str = Field(description="motion | pricing | allocation | election")
    project_id: int | None = Field(None, description="the project; none for the whole mutual")
    title_zh: str
    title_en: str
    body_zh: str = ""
    body_en: str = ""
    quorum: Decimal = Field(description="share of the electorate that must take part, e.g. 0.2")
    threshold: str = "simple"
    allow_change: bool = False
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    payload: dict[str, Any] = Field(default_factory=dict)


class PricingProposalIn(BaseModel):
    product_id: int
    experience_from: date
    experience_to: date
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    period_id: int | None = None
    quorum: Decimal = Decimal("0.1")


class ProposalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    project_id: int | None
    scope: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    options: list[dict]
    seats: int
    quorum: Decimal
    threshold: str
    allow_change: bool
    opens_at: datetime
    closes_at: datetime
    status: str
    eligible: int | None
    passed: bool | None
    enactment_status: str
    payload: dict
    enactment: dict

    @classmethod
    def of(cls, p) -> ProposalOut:
        return cls.model_validate({**{k: getattr(p, k) for k in cls.model_fields if k != "scope"},
                                   "scope": scope_of(p.project_id)})


def scope_of(project_id: int | None) -> str:
    return "mutual" if project_id is None else f"project:{project_id}"


class BallotIn(BaseModel):
    choice: list[str] = Field(min_length=1, description="option codes; one for a motion")


class BallotChangeIn(BaseModel):
    secret: str
    old_choice: list[str] = Field(min_length=1)
    new_choice: list[str] = Field(min_length=1)


class BallotReceipt(BaseModel):
    proposal_id: int
    receipt: str
    secret: str = Field(description="shown once: keep it to verify or change your ballot")
    choice: list[str]


class VerifyIn(BaseModel):
    secret: str
    choice: list[str] = Field(min_length=1)


class VerifyOut(BaseModel):
    proposal_id: int
    receipt: str
    counted: bool


class OptionVotes(BaseModel):
    option: str
    votes: int


class ResultOut(BaseModel):
    proposal_id: int
    eligible: int
    turnout: int
    quorum_met: bool
    options: list[OptionVotes]
    passed: bool
    elected: list[str] = []
    tie: list[str] = []
    enactment_status: str


class ReceiptOut(BaseModel):
    receipt: str
    choice: list[str]


class ParticipationOut(BaseModel):
    proposal_id: int
    has_voted: bool


class MeetingIn(BaseModel):
    project_id: int | None = None
    title_zh: str
    title_en: str
    mode: str = Field(description="in_person | online")
    place: str = Field(description="an address, or the link to join")
    starts_at: AwareDatetime
    capacity: int | None = None


class MeetingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int | None
    title_zh: str
    title_en: str
    mode: str
    place: str
    starts_at: datetime
    capacity: int | None
    status: str
    minutes_zh: str | None
    minutes_en: str | None
    minutes_published_at: datetime | None


class AttendanceIn(BaseModel):
    member_ids: list[int] = Field(default=[], max_length=100_000)  # registered members present
    member_numbers: list[str] = Field(default=[], max_length=100_000)  # from the sign-in sheet


class MinutesIn(BaseModel):
    minutes_zh: str = ""
    minutes_en: str = ""


class FeedbackIn(BaseModel):
    text: str
    project_id: int | None = None
    meeting_id: int | None = None
    owner: str | None = None


class FeedbackUpdate(BaseModel):
    owner: str | None = None
    response: str | None = None
    status: str | None = None


class FeedbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int | None
    source: str
    meeting_id: int | None
    text: str
    owner: str | None
    response: str | None
    status: str
    created_at: datetime
    updated_at: datetime


class RatingIn(BaseModel):
    service_kind: str = Field(description="claim | enrolment | care_contact")
    service_ref: int = Field(description="the claim id, policy id or care contact id")
    score: Any = Field(description="1 to 5")
    comment: str = ""


class RatingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    service_kind: str
    service_ref: str
    team: str
    score: int
    comment: str
    rated_on: date


class RatingSummary(BaseModel):
    project_id: int
    service: str
    team: str
    month: str | None = None
    count: int
    average: float
    low_scores: int
