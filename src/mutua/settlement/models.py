"""Tables of the settlement domain: per-project settings, allocation policies, expenses,
closes (one per project and quarter, never edited) and the aid each close paid."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, Money, UTCDateTime


class SettlementConfig(Base):
    """A project's close settings; created with defaults on the first close."""

    __tablename__ = "settlement_configs"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), unique=True)
    # Reserve target and minimum as shares of annualised earned premium (quarter x 4).
    reserve_target_ratio: Mapped[Decimal] = mapped_column(Numeric(6, 4), default=Decimal("0.15"))
    reserve_minimum_ratio: Mapped[Decimal] = mapped_column(Numeric(6, 4), default=Decimal("0.05"))
    # Share of a positive result put into the reserve (more if it is below its minimum).
    reserve_contribution_rate: Mapped[Decimal] = mapped_column(
        Numeric(6, 4), default=Decimal("0.20"))
    # Expenses charged when none are recorded for the quarter, as a share of the loading cap.
    default_expense_share: Mapped[Decimal] = mapped_column(Numeric(6, 4), default=Decimal("1"))
    startup_costs: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    operating_fund: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    operating_fund_borrowed: Mapped[bool] = mapped_column(default=False)
    operating_fund_instalment: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    operating_fund_repayment_approved: Mapped[bool] = mapped_column(default=False)


class AllocationPolicy(Base):
    """How distributable surplus is shared, from a quarter on; versions are only added."""

    __tablename__ = "settlement_allocation_policies"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    version: Mapped[int]
    effective_from: Mapped[str] = mapped_column(String(7))  # first quarter it applies to
    uplift: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    aid: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    services: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    source: Mapped[str] = mapped_column(String(60), default="default")  # or "proposal:<id>"
    adopted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Expense(Base):
    """Necessary costs charged to a project for a quarter (capped at the close)."""

    __tablename__ = "settlement_expenses"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(Money())
    memo: Mapped[str] = mapped_column(String(200), default="")
    # staff | systems | claims_handling | member_services (expenses.CATEGORIES); rows
    # recorded before categories existed read "unclassified".
    category: Mapped[str] = mapped_column(String(20), default="unclassified",
                                          server_default="unclassified")


class Close(Base):
    """One closed quarter of one project. Written once, in the close's transaction."""

    __tablename__ = "settlement_closes"
    __table_args__ = (UniqueConstraint("project_id", "quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    quarter: Mapped[str] = mapped_column(String(7))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_by: Mapped[str] = mapped_column(String(60))
    # What the close was run with (allocation policy, settings, method): a re-run with
    # the same answers the stored result; different ones are refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    allocation_policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("settlement_allocation_policies.id"), default=None)
    # Running totals the next close starts from.
    earned_to_date: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    uplift_earned_to_date: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    case_reserve: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    # Approved, unpaid claims at the quarter's end; None on closes made before claims
    # payable counted in incurred (they booked none, so the next close counts it all).
    claims_payable: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    ibnr: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    # The quarter's own earned premium (Bornhuetter-Ferguson reads it for its origin).
    earned_premium: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"),
                                                    server_default="0")
    # The quarter's result as the list of closes shows it (None on closes stored before
    # their statement carried the figure; revision 0014 copied the rest from statements).
    uplift_premium_earned: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    claims_incurred: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    result: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    reserve_drawn: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    surplus: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    # Reinsurance recoveries and reinstatement premium the closes up to this one counted:
    # the next close books what was added since.
    reinsurance_recovered_to_date: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal("0"), server_default="0")
    reinstatement_premium_to_date: Mapped[Decimal] = mapped_column(
        Money(), default=Decimal("0"), server_default="0")
    reserve_after: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    deficit_after: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    undistributed_after: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    startup_costs_recovered: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    fund_repaid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    distributable: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    # The one rate every eligible policy's sum insured rose by (None: closed under the
    # earlier rule, money per policy by earned premium), and the uplift money the cap and
    # rounding left, carried into the next close's distributable surplus for uplift.
    uplift_rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 8), default=None)
    uplift_carried: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"),
                                                    server_default="0")
    policies_uplifted: Mapped[int] = mapped_column(default=0)
    sum_insured_added: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    statement: Mapped[dict] = mapped_column(JSON, default=dict)  # what the close told, as told


class AidPayment(Base):
    """Aid a close granted to a member who had claims paid in the quarter."""

    __tablename__ = "settlement_aid"
    __table_args__ = (Index("ix_settlement_aid_member", "member_id", "close_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    close_id: Mapped[int] = mapped_column(ForeignKey("settlement_closes.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    uncovered_loss: Mapped[Decimal] = mapped_column(Money())
    aid: Mapped[Decimal] = mapped_column(Money())


class CloseReserving(Base):
    """How a close reserved, one row per close (from revision 0008 on): the IBNR basis it
    chose and why, both methods' figures, and the premium deficiency test on unexpired
    cover. The figures are columns so reports read them, never the statement's JSON."""

    __tablename__ = "settlement_close_reserving"

    id: Mapped[int] = mapped_column(primary_key=True)
    close_id: Mapped[int] = mapped_column(ForeignKey("settlement_closes.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    # bf_filed | bf_blended | chainladder (mutua.actuarial.patterns)
    ibnr_method: Mapped[str] = mapped_column(String(16))
    ibnr_reason: Mapped[str] = mapped_column(String(300))
    development_quarters: Mapped[int]
    claims_reported: Mapped[int]
    credibility: Mapped[Decimal] = mapped_column(Numeric(8, 6))
    # Shares unreported per development quarter, as decimal strings: the products' filed
    # pattern (weighted by expected claims) and the one the close used.
    filed_pattern: Mapped[list[str]] = mapped_column(JSON)
    pattern_used: Mapped[list[str]] = mapped_column(JSON)
    ibnr_chainladder: Mapped[Decimal] = mapped_column(Money())
    ibnr_bf: Mapped[Decimal] = mapped_column(Money())
    # Premium deficiency test at the quarter's end (mutua.settlement.reserving).
    unearned_premium: Mapped[Decimal] = mapped_column(Money())
    unexpired_claims: Mapped[Decimal] = mapped_column(Money())
    unexpired_costs: Mapped[Decimal] = mapped_column(Money())
    unexpired_risk_reserve: Mapped[Decimal] = mapped_column(Money())
    # Unearned uplift premium cancelled policies returned to the pool, to date.
    uplift_returned_to_date: Mapped[Decimal] = mapped_column(Money())


class SolvencyFactor(Base):
    """Risk factors of the minimum capital for non-life insurance risk, per line of business
    (C-ROSS II, 保险公司偿付能力监管规则第4号): the premium risk factor applies to the last
    year's net earned premium, the reserve risk factor to net claims reserves. A later row
    for the same line applies from its quarter on; ``demo`` marks values that were not taken
    from the rule's annex and must not be filed with a regulator."""

    __tablename__ = "solvency_factors"
    __table_args__ = (UniqueConstraint("line", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line: Mapped[str] = mapped_column(String(20))  # accident | health | ckd (Product.line)
    effective_from: Mapped[str] = mapped_column(String(7))
    premium_factor: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    reserve_factor: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    source: Mapped[str] = mapped_column(String(200))
    demo: Mapped[bool] = mapped_column(default=False)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
