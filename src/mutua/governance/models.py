"""Tables of the governance domain: proposals and ballots, meetings, feedback, ratings.

Ballot secrecy is a property of the schema, not of good manners:

- ``governance_electorate`` says *who* may vote and whether they have voted
  (one row per member, frozen when voting opens);
- ``governance_ballots`` says *what* was chosen, keyed by the receipt hash, with no
  member id, no timestamp and no sequence number that could be lined up with the
  electorate table or the audit log.

So nobody reading the database (staff included) can join a choice to a member.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, BoundedText, UTCDateTime, large_table

# Longest free text of each kind, in characters: the request schemas, the services and the
# columns hold the same limits.
PROPOSAL_TEXT_LIMIT = 20_000
MINUTES_LIMIT = 20_000  # in each language
FEEDBACK_LIMIT = 4_000  # a feedback item, and the answer to it
COMMENT_LIMIT = 2_000  # a service rating's comment
OWNER_LIMIT = 64


class Proposal(Base):
    """A question put to the members (议案): motion, pricing or allocation change, election."""

    __tablename__ = "governance_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    # motion | pricing | allocation | election
    kind: Mapped[str] = mapped_column(String(16), index=True)
    # The scope: one project's members, or the whole mutual when None.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True,
                                                   default=None)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(300))
    body_zh: Mapped[str] = mapped_column(BoundedText(PROPOSAL_TEXT_LIMIT), default="")
    body_en: Mapped[str] = mapped_column(BoundedText(PROPOSAL_TEXT_LIMIT), default="")
    # [{"code": "yes", "label_zh": "赞成", "label_en": "For"}, ...]
    options: Mapped[list[dict]] = mapped_column(JSON)
    seats: Mapped[int] = mapped_column(default=0)  # N for an election of N representatives
    quorum: Mapped[Decimal] = mapped_column(Numeric(5, 4))  # share of the electorate
    threshold: Mapped[str] = mapped_column(String(12), default="simple")  # simple | two_thirds
    allow_change: Mapped[bool] = mapped_column(Boolean, default=False)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | open | closed
    # What takes effect if it passes (validated when the proposal is made).
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    eligible: Mapped[int | None] = mapped_column(default=None)  # frozen at opening
    result: Mapped[dict | None] = mapped_column(JSON, default=None)  # the published tally
    passed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    # none | enacted | refused
    enactment_status: Mapped[str] = mapped_column(String(12), default="none")
    enactment: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Elector(Base):
    """A member entitled to vote, frozen when voting opens; ``has_voted`` flips once."""

    __tablename__ = "governance_electorate"
    __table_args__ = (Index("ix_governance_electorate_member", "member_id"),)

    # No foreign keys here, on purpose: the rows are only ever written by one INSERT ...
    # SELECT from policies (whose member_id is already a foreign key) for a proposal that
    # exists, and per-row FK triggers made freezing a million electors four times slower.
    proposal_id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(primary_key=True)
    has_voted: Mapped[bool] = mapped_column(Boolean, default=False)
    # A one-way tag of the secret of this elector's current ballot (receipts.owner_tag), so
    # only the secret handed to *this* member can change a ballot. Without the secret it
    # cannot be matched to a receipt. NULL until the member votes (and for paper ballots).
    ballot_tag: Mapped[str | None] = mapped_column(String(64), default=None)
    # The proposal's scope (None: mutual-wide), so a sharded database can place the rows.
    project_id: Mapped[int | None] = mapped_column(default=None)


class Ballot(Base):
    """One secret ballot: the receipt hash and the choice, and nothing that names the voter."""

    __tablename__ = "governance_ballots"
    __table_args__ = (large_table(),)

    proposal_id: Mapped[int] = mapped_column(ForeignKey("governance_proposals.id"),
                                             primary_key=True)
    receipt: Mapped[str] = mapped_column(String(64), primary_key=True)
    choice: Mapped[str] = mapped_column(String(400))  # option codes, comma-joined, canonical
    # The proposal's project, or the mutual-wide project for a mutual-wide proposal
    # (catalog/mutual.py). It ends the primary key (the key a distributed table needs)
    # rather than adding an index: the proposal fixes it, so the key refuses the same rows.
    project_id: Mapped[int] = mapped_column(primary_key=True)


class Representative(Base):
    """A member representative (会员代表) elected by a proposal of kind ``election``."""

    __tablename__ = "governance_representatives"
    __table_args__ = (UniqueConstraint("proposal_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("governance_proposals.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), default=None)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    votes: Mapped[int]
    elected_on: Mapped[date] = mapped_column(Date)


class Meeting(Base):
    """A member consultation meeting (会员恳谈会)."""

    __tablename__ = "governance_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True,
                                                   default=None)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(300))
    mode: Mapped[str] = mapped_column(String(12))  # in_person | online
    place: Mapped[str] = mapped_column(String(300))  # an address, or the link to join
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled|held
    minutes_zh: Mapped[str | None] = mapped_column(BoundedText(MINUTES_LIMIT), default=None)
    minutes_en: Mapped[str | None] = mapped_column(BoundedText(MINUTES_LIMIT), default=None)
    minutes_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_by: Mapped[str] = mapped_column(String(64))


class MeetingRegistration(Base):
    __tablename__ = "governance_meeting_registrations"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("governance_meetings.id"),
                                            primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attended: Mapped[bool] = mapped_column(Boolean, default=False)


class FeedbackItem(Base):
    """A piece of member feedback tracked to a response: open -> in_progress -> answered -> done."""

    __tablename__ = "governance_feedback"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True,
                                                   default=None)
    source: Mapped[str] = mapped_column(String(12))  # meeting | rating | member
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("governance_meetings.id"),
                                                   default=None, index=True)
    rating_id: Mapped[int | None] = mapped_column(default=None)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), default=None)
    text: Mapped[str] = mapped_column(BoundedText(FEEDBACK_LIMIT))
    owner: Mapped[str | None] = mapped_column(String(OWNER_LIMIT), default=None)  # user or team
    response: Mapped[str | None] = mapped_column(BoundedText(FEEDBACK_LIMIT), default=None)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ServiceRating(Base):
    """A member's rating of one service (会员服务评价): once per service, 1 to 5."""

    __tablename__ = "governance_ratings"
    __table_args__ = (
        UniqueConstraint("service_kind", "service_ref"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_1_to_5"),
        Index("ix_governance_ratings_project_month", "project_id", "month"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    service_kind: Mapped[str] = mapped_column(String(16))  # claim | enrolment | care_contact
    service_ref: Mapped[str] = mapped_column(String(40))  # the claim, policy or contact id
    team: Mapped[str] = mapped_column(String(40))
    score: Mapped[int]
    comment: Mapped[str] = mapped_column(BoundedText(COMMENT_LIMIT), default="")
    rated_on: Mapped[date] = mapped_column(Date)  # Shanghai date
    month: Mapped[str] = mapped_column(String(7))  # "2026-11": the trend bucket
