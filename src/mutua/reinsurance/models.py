"""Tables of reinsurance: the treaties a project files and the recoveries claims create.

A treaty is data (retention, limit, rate, reinstatements) and is never edited once a close
has used it; a recovery is one movement of what a reinsurer owes on one claim's decision
(per-risk) or on one event's total (catastrophe), received later with its date.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, Money, UTCDateTime

PER_RISK, CATASTROPHE = "per_risk", "catastrophe"
KINDS = (PER_RISK, CATASTROPHE)


class Treaty(Base):
    """An excess-of-loss treaty (超赔再保险合同) protecting one project's pool."""

    __tablename__ = "reinsurance_treaties"
    __table_args__ = (UniqueConstraint("project_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # per_risk | catastrophe
    reinsurer: Mapped[str] = mapped_column(String(100))
    retention: Mapped[Decimal] = mapped_column(Money())  # 自留额: the pool keeps this much
    limit: Mapped[Decimal] = mapped_column(Money())  # the most one layer pays per risk/event
    # Ceded premium as a share of the pool's gross earned premium over the cover.
    rate: Mapped[Decimal] = mapped_column(Numeric(8, 6))
    reinstatements: Mapped[int] = mapped_column(default=0)  # 恢复次数
    # Premium per yuan of cover reinstated (the rate on line, pro rata as to amount).
    reinstatement_rate: Mapped[Decimal] = mapped_column(Numeric(8, 6), default=Decimal("0"))
    starts_on: Mapped[date] = mapped_column(Date)  # losses occurring on or after
    ends_on: Mapped[date] = mapped_column(Date)  # inclusive
    filed_by: Mapped[str] = mapped_column(String(60))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Recovery(Base):
    """One movement of what a treaty owes (摊回赔款): receivable when a claim is decided,
    received when the reinsurer pays. Negative when a later decision lowered the loss."""

    __tablename__ = "reinsurance_recoveries"
    __table_args__ = (UniqueConstraint("treaty_id", "source"),
                      Index("ix_reinsurance_recoveries_project", "project_id", "recorded_on"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    treaty_id: Mapped[int] = mapped_column(ForeignKey("reinsurance_treaties.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)  # what moved it
    # The risk or event the layer applies to: "claim:<id>" per risk, "event:<date>:<place>"
    # for a catastrophe (every claim of one event adds to one loss).
    loss_key: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(80))  # "claim:<id>:round:<n>", unique per treaty
    loss: Mapped[Decimal] = mapped_column(Money())  # the gross loss the layer saw
    amount: Mapped[Decimal] = mapped_column(Money())  # change in the recovery
    reinstatement_premium: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    recorded_on: Mapped[date] = mapped_column(Date)
    received_on: Mapped[date | None] = mapped_column(Date, default=None)
    received_by: Mapped[str | None] = mapped_column(String(60), default=None)
