"""Tables of the claims domain (理赔).

A claim (赔案) is filed against one policy and carries one item per claimed benefit. Its
money moves through three rows that never change once written: case-reserve movements
(未决赔款准备金), decisions (one per round: the first and, on appeal, a second) and
payments (one per claim and round, made in payment batches). The claim row itself holds
the current state for reading.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, BoundedText, Money, UTCDateTime, large_table

# Workflow states. Open claims (reported, under_review, awaiting_docs, reopened) carry
# a case reserve; awaiting_docs is a handler's request to the member for missing
# documents, and pauses the decision clock until a document arrives.
REPORTED, UNDER_REVIEW, DECIDED, PAID, CLOSED, REOPENED = (
    "reported", "under_review", "decided", "paid", "closed", "reopened")
AWAITING_DOCUMENTS = "awaiting_docs"  # a status is at most 16 characters
OPEN_STATES = (REPORTED, UNDER_REVIEW, AWAITING_DOCUMENTS, REOPENED)
STATES = (REPORTED, UNDER_REVIEW, AWAITING_DOCUMENTS, DECIDED, PAID, CLOSED, REOPENED)
# A decision within 30 days of a complete claim (PRC Insurance Law art. 23): the clock runs
# from the report and stops while the member is asked for documents (art. 22).
DECISION_DAYS = 30


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (
        Index("ix_claims_project_status", "project_id", "status"),
        Index("ix_claims_project_event", "project_id", "event_date"),
        UniqueConstraint("project_id", "id"),
        large_table(),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    claim_number: Mapped[str] = mapped_column(String(16), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(16))  # accident | sudden_death | illness
    event_date: Mapped[date] = mapped_column(Date)  # Shanghai calendar date of the event
    event_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    place: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(BoundedText(2000), default="")  # as ClaimIn
    occupation_class_at_event: Mapped[int | None] = mapped_column(default=None)
    # Exclusion triggers a handler found on review, e.g. ["drunk_driving"].
    circumstances: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=REPORTED)
    reported_on: Mapped[date] = mapped_column(Date)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reported_by: Mapped[int] = mapped_column(default=0)  # user id (0 = system)
    # Current decision, copied from the latest ClaimDecision for reading.
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    decision_round: Mapped[int] = mapped_column(default=0)
    decided_on: Mapped[date | None] = mapped_column(Date, default=None)
    approved: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    uncovered_loss: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    case_reserve: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    appeals: Mapped[int] = mapped_column(default=0)
    appeal_reason: Mapped[str | None] = mapped_column(BoundedText(2000), default=None)
    closed_on: Mapped[date | None] = mapped_column(Date, default=None)
    # A second report of the same event (policy, date, type), recorded by staff with a reason.
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), default=None)
    duplicate_reason: Mapped[str | None] = mapped_column(BoundedText(2000), default=None)
    # The handler the claim is assigned to (a staff user), and their name for the queue.
    assigned_to: Mapped[int | None] = mapped_column(default=None)
    assigned_name: Mapped[str | None] = mapped_column(String(80), default=None)
    # The day a decision is due: the report + DECISION_DAYS, pushed back by every day the
    # claim waited for documents the handler asked for.
    decision_due_on: Mapped[date | None] = mapped_column(Date, default=None, index=True)
    # An open request to the member for documents: since when, and what is asked.
    documents_requested_on: Mapped[date | None] = mapped_column(Date, default=None)
    documents_request: Mapped[str | None] = mapped_column(BoundedText(2000), default=None)


class ClaimItem(Base):
    """One claimed benefit with the facts it needs and its engine and final amounts."""

    __tablename__ = "claim_items"
    __table_args__ = (UniqueConstraint("project_id", "id"), large_table())

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    position: Mapped[int] = mapped_column(default=0)
    benefit_id: Mapped[int] = mapped_column(ForeignKey("benefits.id"))
    benefit_code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    claimed_amount: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    disability_grade: Mapped[int | None] = mapped_column(default=None)
    invoice_amount: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    social_insurance_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    other_insurance_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    has_social_insurance: Mapped[bool] = mapped_column(default=False)
    hospital_days: Mapped[int | None] = mapped_column(default=None)
    symptoms_began_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    died_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    engine_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    engine_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    approved: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    uncovered_loss: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    days_paid: Mapped[int] = mapped_column(default=0)


class ClaimDocument(Base):
    """An uploaded file; the bytes live under settings.upload_dir, not in the database."""

    __tablename__ = "claim_documents"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(24))  # invoice | medical_record | ...
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(60))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str] = mapped_column(String(300))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    uploaded_by: Mapped[int] = mapped_column(default=0)


class ClaimDecision(Base):
    """A decision round: 1 is the first decision, 2 the answer to the (single) appeal."""

    __tablename__ = "claim_decisions"
    __table_args__ = (UniqueConstraint("claim_id", "round"),
                      Index("ix_claim_decisions_project_on", "project_id", "decided_on"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    round: Mapped[int]
    decided_on: Mapped[date] = mapped_column(Date)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str] = mapped_column(String(16))
    engine_outcome: Mapped[str] = mapped_column(String(16))
    engine_amount: Mapped[Decimal] = mapped_column(Money())
    approved: Mapped[Decimal] = mapped_column(Money())
    # approved minus the previous round's approved: what this round adds to claims expense
    approved_change: Mapped[Decimal] = mapped_column(Money())
    uncovered_loss: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    auto: Mapped[bool] = mapped_column(default=False)
    overridden: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(BoundedText(2000), default="")  # as DecisionIn
    # Why money was approved without every document the benefits require (else "").
    documents_reason: Mapped[str] = mapped_column(BoundedText(2000), default="", server_default="")
    # The handler who approved a large override as the second pair of eyes (四眼原则).
    second_approver: Mapped[int | None] = mapped_column(default=None)


# States of an override awaiting a second approver.
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class OverrideRequest(Base):
    """A handler's override above the engine by more than the four-eyes limit.

    The decision it asks for is taken only when a second handler approves it; until then
    the claim stays open with its case reserve. Answered requests are kept as the record.
    """

    __tablename__ = "claim_override_requests"
    __table_args__ = (Index("ix_claim_override_requests_project_status", "project_id", "status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    requested_by: Mapped[int]
    requested_by_name: Mapped[str] = mapped_column(String(80))
    requested_on: Mapped[date] = mapped_column(Date)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # [{"item_id": 7, "approved": "30000.00"}], the handler's amounts as asked
    items: Mapped[list[dict]] = mapped_column(JSON, default=list)
    circumstances: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    reason: Mapped[str] = mapped_column(BoundedText(2000), default="")  # as DecisionIn
    documents_reason: Mapped[str] = mapped_column(BoundedText(2000), default="", server_default="")
    engine_amount: Mapped[Decimal] = mapped_column(Money())
    approved: Mapped[Decimal] = mapped_column(Money())
    above_engine: Mapped[Decimal] = mapped_column(Money())
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    answered_by: Mapped[int | None] = mapped_column(default=None)
    answered_by_name: Mapped[str | None] = mapped_column(String(80), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    answer_note: Mapped[str] = mapped_column(BoundedText(2000), default="")


class CaseReserveMovement(Base):
    """A change in a claim's case reserve (signed); the reserve on a date is their sum."""

    __tablename__ = "case_reserve_movements"
    __table_args__ = (Index("ix_case_reserve_project_on", "project_id", "moved_on"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    moved_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    reason: Mapped[str] = mapped_column(String(24))  # reported | revised | decided | appeal


class PaymentBatch(Base):
    """One run of `mutua claims pay`: the claims it paid and one journal entry."""

    __tablename__ = "claim_payment_batches"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    batch_key: Mapped[str] = mapped_column(String(60), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    claims: Mapped[int] = mapped_column(default=0)
    total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int] = mapped_column(default=0)


class ClaimPayment(Base):
    """Money paid to the member for one decision round; unique so nothing is paid twice."""

    __tablename__ = "claim_payments"
    __table_args__ = (UniqueConstraint("claim_id", "round"),
                      Index("ix_claim_payments_project_on", "project_id", "paid_on"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("claim_payment_batches.id"), index=True)
    round: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(Money())
    paid_on: Mapped[date] = mapped_column(Date)
