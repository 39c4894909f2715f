"""Policies (保单), premium payments and sum-insured uplifts (提升保额)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, BoundedText, Money, UTCDateTime, large_table


class Policy(Base):
    __tablename__ = "policies"
    __table_args__ = (
        # One policy per member, product and period; the product fixes the project, which
        # the key also holds (last, so a member's policies are still found by it).
        UniqueConstraint("member_id", "product_id", "period_id", "project_id"),
        # What a premium payment's one key points at: the policy and its project together.
        UniqueConstraint("project_id", "id"),
        # One check that the period, its product and its project belong together, where
        # three single-column keys cost three checks a row (a bulk enrolment writes 10^6).
        ForeignKeyConstraint(["period_id", "product_id", "project_id"],
                             ["sale_periods.id", "sale_periods.product_id",
                              "sale_periods.project_id"]),
        Index("ix_policies_project_status", "project_id", "status"),
        Index("ix_policies_project_cover", "project_id", "cover_start", "cover_end"),
        # Renewals only: first enrolments (most rows) stay out of the index.
        Index("ix_policies_renewed_from_id", "renewed_from_id",
              postgresql_where=text("renewed_from_id IS NOT NULL"),
              sqlite_where=text("renewed_from_id IS NOT NULL")),
        large_table(),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # On PostgreSQL an enrolment's first read draws the number (and the id) from its sequence
    # (policies.service._enrolling).
    policy_number: Mapped[str] = mapped_column(String(24), unique=True)
    project_id: Mapped[int]
    product_id: Mapped[int]
    period_id: Mapped[int]
    # No index of its own: the unique (member, product, period) key leads with it.
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    # unpaid (premium due, no cover yet) | in_force | cancelled | lapsed (never paid, never
    # covered); an unpaid or lapsed policy's cover_end is the day before cover_start
    status: Mapped[str] = mapped_column(String(12), default="in_force")
    enrolled_on: Mapped[date] = mapped_column(Date)
    cover_start: Mapped[date] = mapped_column(Date)
    cover_end: Mapped[date] = mapped_column(Date)  # inclusive; a cancellation moves it
    premium: Mapped[Decimal] = mapped_column(Money())
    age_at_start: Mapped[int]
    occupation_class: Mapped[int]
    coefficient: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    cancelled_on: Mapped[date | None] = mapped_column(Date, default=None)
    refund: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The policy this one renews, its cover continuing the day after that one's ended (so
    # no waiting period starts again); None for a first enrolment.
    renewed_from_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"), default=None)
    # The health declaration (健康告知) the member made when buying: each question as it was
    # asked and the answer (policies.domain.declaration_record); None: the product asks none.
    # none_as_null: no declaration is SQL NULL, not the JSON text 'null'.
    declaration: Mapped[list | None] = mapped_column(JSON(none_as_null=True), default=None)
    # The member's consent (at enrolment or later, revocable) to be renewed into the next
    # period at its price when this one ends, without accepting each offer.
    auto_renew: Mapped[bool] = mapped_column(default=False, server_default=false())


class PremiumPayment(Base):
    """Money received for a policy (positive) or refunded to the member (negative)."""

    __tablename__ = "premium_payments"
    __table_args__ = (
        # One key holds the payment to its policy and to the policy's project (which the
        # policy's own key holds to its period, product and project): one check a row where
        # a key to the policy and one to the project cost two (a bulk enrolment writes 10^6).
        ForeignKeyConstraint(["project_id", "policy_id"], ["policies.project_id", "policies.id"]),
        # The shard key's unique key, leading with the policy so it also finds a policy's
        # payments (and serves the key above when a policy changes): one index, not two.
        UniqueConstraint("policy_id", "project_id", "id"),
        large_table(),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int]
    policy_id: Mapped[int] = mapped_column(BigIntPK)
    amount: Mapped[Decimal] = mapped_column(Money())
    paid_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(12), default="premium")  # premium | refund
    reference: Mapped[str] = mapped_column(String(64), default="")


class SumInsuredUplift(Base):
    """Extra sum insured bought for a policy with its share of a quarter's surplus."""

    __tablename__ = "sum_insured_uplifts"
    __table_args__ = (Index("ix_uplifts_policy", "policy_id", "effective_from"),
                      UniqueConstraint("project_id", "id"), large_table())

    # A close writes millions of these rows in one statement. project_id and benefit_id
    # carry no foreign key: the close takes both from rows it has just read, and each key
    # check cost PostgreSQL about 10 s per million rows. The policy key stays.
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int]  # leads the unique (project_id, id) key
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    benefit_id: Mapped[int]
    quarter: Mapped[str] = mapped_column(String(7))  # the closed quarter that paid for it
    effective_from: Mapped[date] = mapped_column(Date)
    money: Mapped[Decimal] = mapped_column(Money())  # surplus spent on this benefit
    sum_insured_added: Mapped[Decimal] = mapped_column(Money())
    # Unearned part of ``money`` the policy gave back to the pool when it was cancelled
    # (the close books it as uplift premium returned); the rest is earned to the new end.
    returned: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"), server_default="0")


class PremiumInvoice(Base):
    """A group invoice (团体保费账单): one bill for the policies of a bulk enrolment that an
    employer or a platform pays for its people; paying it pays every due it owns."""

    __tablename__ = "premium_invoices"
    __table_args__ = (UniqueConstraint("project_id", "reference"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    reference: Mapped[str] = mapped_column(String(32))
    payer: Mapped[str] = mapped_column(BoundedText(100), default="")
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("sale_periods.id"))
    policies: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(Money())
    paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    due_on: Mapped[date] = mapped_column(Date)
    grace_end: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12), default="open")  # open|paid|lapsed
    paid_on: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The provider's id of the refund of a part payment made before the invoice lapsed.
    refund_id: Mapped[str | None] = mapped_column(String(64), default=None)


class PremiumDue(Base):
    """A premium due (应收保费) on a policy that has not been paid at enrolment.

    The cover it buys (cover_start to cover_end) is kept here until the premium is paid by
    ``grace_end``; the policy itself has no cover meanwhile, so the close, the uplift and
    the in-force counts leave it out without knowing about dues."""

    __tablename__ = "premium_dues"
    __table_args__ = (
        UniqueConstraint("project_id", "policy_id"),
        UniqueConstraint("project_id", "reference"),
        Index("ix_premium_dues_project_state_grace", "project_id", "state", "grace_end"),
        Index("ix_premium_dues_member", "member_id"),
        Index("ix_premium_dues_invoice", "invoice_id"),
        large_table(),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("premium_invoices.id"),
                                                   default=None)
    reference: Mapped[str] = mapped_column(String(32))  # the policy number
    amount: Mapped[Decimal] = mapped_column(Money())
    paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    due_on: Mapped[date] = mapped_column(Date)
    grace_end: Mapped[date] = mapped_column(Date)
    cover_start: Mapped[date] = mapped_column(Date)
    cover_end: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12), default="open")  # open|paid|lapsed|cancelled
    paid_on: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The provider's id of the refund of a part payment made before the due lapsed.
    refund_id: Mapped[str | None] = mapped_column(String(64), default=None)


class RenewalOffer(Base):
    """An offer to renew one policy into its product's next sale period (续保邀请), at the
    price then and re-rated on the member's age at the new start and class now.

    offered -> accepted (the member said yes, or consented to auto-renewal: the renewed
    policy is written, its premium owed) -> renewed (paid, cover continues) | expired (not
    taken up, or its premium never paid); offered -> declined by the member.
    """

    __tablename__ = "renewal_offers"
    __table_args__ = (
        UniqueConstraint("policy_id", "project_id"),  # one offer per policy
        Index("ix_renewal_offers_member", "member_id"),
        Index("ix_renewal_offers_project_state_expires", "project_id", "state", "expires_on"),
        large_table(),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"))  # the policy renewed
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("sale_periods.id"))  # the next period
    premium: Mapped[Decimal] = mapped_column(Money())
    cover_start: Mapped[date] = mapped_column(Date)
    cover_end: Mapped[date] = mapped_column(Date)
    age_at_start: Mapped[int]
    occupation_class: Mapped[int]
    coefficient: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    state: Mapped[str] = mapped_column(String(12), default="offered")
    offered_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)  # the last day of the policy renewed
    by_auto_renewal: Mapped[bool] = mapped_column(default=False, server_default=false())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    renewed_policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"),
                                                          default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
