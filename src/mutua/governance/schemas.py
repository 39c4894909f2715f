"""Request and response bodies of /api/v1/governance."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from mutua.bounds import DAY_RANGE, Day, Id, bounded_json, supported_moment
from mutua.governance.models import (
    COMMENT_LIMIT,
    FEEDBACK_LIMIT,
    MINUTES_LIMIT,
    OWNER_LIMIT,
    PROPOSAL_TEXT_LIMIT,
)

# A moment with its timezone, in the years the system holds.
When = Annotated[AwareDatetime, AfterValidator(supported_moment),
                 Field(json_schema_extra=DAY_RANGE)]
Quorum = Annotated[Decimal, Field(ge=0, le=1, decimal_places=4)]
OptionCode = Annotated[str, Field(max_length=40)]
Choice = Annotated[list[OptionCode], Field(min_length=1, max_length=50)]
Secret = Annotated[str, Field(max_length=100)]


class ProposalIn(BaseModel):
    kind: str = Field(max_length=16, description="motion | pricing | allocation | election")
    project_id: Id | None = Field(None, description="the project; none for the whole mutual")
    title_zh: str = Field(max_length=200)
    title_en: str = Field(max_length=300)
    body_zh: str = Field(default="", max_length=PROPOSAL_TEXT_LIMIT)
    body_en: str = Field(default="", max_length=PROPOSAL_TEXT_LIMIT)
    quorum: Quorum = Field(description="share of the electorate that must take part, e.g. 0.2")
    threshold: str = Field(default="simple", max_length=12)
    allow_change: bool = False
    opens_at: When
    closes_at: When
    # A pricing table, an allocation or an election's candidates: at most 100,000
    # characters as JSON (a full coefficient table is some 10,000).
    payload: Annotated[dict[str, Any], Field(max_length=20),
                       AfterValidator(bounded_json(100_000))] = Field(default_factory=dict)


class PricingProposalIn(BaseModel):
    product_id: Id
    experience_from: Day
    experience_to: Day
    opens_at: When
    closes_at: When
    period_id: Id | None = None
    quorum: Quorum = Decimal("0.1")


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
    choice: Choice = Field(description="option codes; one for a motion")


class BallotChangeIn(BaseModel):
    secret: Secret
    old_choice: Choice | None = Field(None, description=(
        "the choice on the receipt; needed only for an election with too many possible "
        "ballots to find the old one by its secret"))
    new_choice: Choice


class BallotReceipt(BaseModel):
    proposal_id: int
    receipt: str
    secret: str = Field(description="shown once: keep it to verify or change your ballot")
    choice: list[str]


class VerifyIn(BaseModel):
    secret: Secret
    choice: Choice


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
    project_id: Id | None = None
    title_zh: str = Field(max_length=200)
    title_en: str = Field(max_length=300)
    mode: str = Field(max_length=12, description="in_person | online")
    place: str = Field(max_length=300, description="an address, or the link to join")
    starts_at: When
    capacity: Annotated[int, Field(ge=0, le=1_000_000)] | None = None


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
    member_ids: list[Id] = Field(default=[], max_length=100_000)  # registered members present
    member_numbers: list[Annotated[str, Field(max_length=20)]] = Field(
        default=[], max_length=100_000)  # from the sign-in sheet


class MinutesIn(BaseModel):
    minutes_zh: str = Field(default="", max_length=MINUTES_LIMIT)
    minutes_en: str = Field(default="", max_length=MINUTES_LIMIT)


class FeedbackIn(BaseModel):
    text: str = Field(max_length=FEEDBACK_LIMIT)
    project_id: Id | None = None
    meeting_id: Id | None = None
    owner: str | None = Field(default=None, max_length=OWNER_LIMIT)


class FeedbackUpdate(BaseModel):
    owner: str | None = Field(default=None, max_length=OWNER_LIMIT)
    response: str | None = Field(default=None, max_length=FEEDBACK_LIMIT)
    status: str | None = Field(default=None, max_length=12)


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
    service_kind: str = Field(max_length=16, description="claim | enrolment | care_contact")
    service_ref: Id = Field(description="the claim id, policy id or care contact id")
    # A number or its digits; the service names any other value's problem.
    score: Annotated[int, Field(ge=-10, le=10)] | Annotated[str, Field(max_length=8)] = Field(
        description="1 to 5")
    comment: str = Field(default="", max_length=COMMENT_LIMIT)


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
