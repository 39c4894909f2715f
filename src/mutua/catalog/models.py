"""Projects (pools), products, sale periods (期), benefits and coefficient tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mutua.db import Base, Money, catalogue_table


class Project(Base):
    """A pool (项目) with its own members, products and books."""

    __tablename__ = "projects"
    __table_args__ = (catalogue_table(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(150))
    target_group: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | closed
    # Which IBNR method the close books (both are computed): chainladder | bf
    reserving_method: Mapped[str] = mapped_column(String(16), default="bf")
    a_priori_loss_ratio: Mapped[Decimal] = mapped_column(Numeric(6, 4), default=Decimal("0.60"))
    products: Mapped[list[Product]] = relationship(back_populates="project")


class Product(Base):
    __tablename__ = "products"
    # (id, project_id): what a sale period's composite key points at.
    __table_args__ = (UniqueConstraint("id", "project_id"), catalogue_table())

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(150))
    line: Mapped[str] = mapped_column(String(20), default="accident")  # accident | ckd | health
    uniform_premium: Mapped[Decimal] = mapped_column(Money())
    term_days: Mapped[int] = mapped_column(default=365)
    min_age: Mapped[int]
    max_age: Mapped[int]
    allowed_classes: Mapped[list[int]] = mapped_column(JSON)
    waiting_days: Mapped[int] = mapped_column(default=0)
    # Share of premium the project may spend on necessary costs (a cap at the close).
    expense_loading: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    # Claims expected per premium, the pricing basis the catalogue checks the pure risk
    # rates against (None: the project's a_priori_loss_ratio).
    expected_loss_ratio: Mapped[Decimal | None] = mapped_column(Numeric(6, 4), default=None)
    # The close raises the cover of policies with at least min_uplift_days of cover left on
    # the first day of the next quarter, by at most max_uplift_rate in one close.
    min_uplift_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # A premium not paid at enrolment: cover from the start date if it is paid within this
    # many days of enrolment, otherwise the policy lapses and never covered anything.
    grace_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # Policies ending within this many days are offered renewal into the next period.
    renewal_offer_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # The terms' deduction from a refund on cancellation after the cooling-off period: a
    # fixed fee plus a share of the unearned premium (policies.domain.cancellation_deduction).
    cancellation_fee: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"),
                                                      server_default="0")
    cancellation_fee_rate: Mapped[Decimal] = mapped_column(Numeric(6, 4), default=Decimal("0"),
                                                           server_default="0")
    max_uplift_rate: Mapped[Decimal] = mapped_column(Numeric(6, 4), default=Decimal("0.5"),
                                                     server_default="0.5")
    # Share of an accident quarter's ultimate claims still unreported at the end of each
    # development quarter, as decimal strings (["0.15", "0.04", "0"]); the close's IBNR
    # reads it through ``reporting_shares``.
    reporting_pattern: Mapped[list[str]] = mapped_column(JSON, default=list)
    exclusions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Product-line rules, e.g. CKD stages covered: {"stages": ["G3a"], "needs_acr": true}
    underwriting: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="active")

    project: Mapped[Project] = relationship(back_populates="products")

    @property
    def reporting_shares(self) -> list[Decimal]:
        return [Decimal(str(s)) for s in self.reporting_pattern or []]

    benefits: Mapped[list[Benefit]] = relationship(
        back_populates="product", order_by="Benefit.id"
    )
    periods: Mapped[list[SalePeriod]] = relationship(
        back_populates="product", order_by="SalePeriod.sale_start"
    )


class Benefit(Base):
    """One cover of a product; its sum insured is ``base_sum_insured x coefficient (+ uplifts)``."""

    __tablename__ = "benefits"
    __table_args__ = (UniqueConstraint("product_id", "code"), catalogue_table())

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    # accidental_death | disability | accidental_medical | sudden_death | hospital_allowance
    # | ckd_progression | dialysis_start | ckd_hospital_cash | dialysis_allowance | transplant
    kind: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(100))
    base_sum_insured: Mapped[Decimal] = mapped_column(Money())
    # Expected claim cost per yuan of sum insured per year; turns surplus into sum insured.
    pure_risk_rate: Mapped[Decimal] = mapped_column(Numeric(12, 8))
    deductible: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    coinsurance_with_social: Mapped[Decimal | None] = mapped_column(Numeric(5, 4), default=None)
    coinsurance_without_social: Mapped[Decimal | None] = mapped_column(Numeric(5, 4), default=None)
    daily_amount: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    max_days: Mapped[int | None] = mapped_column(default=None)
    # Code of the benefit whose sum insured this one shares (disability shares death's).
    shares_sum_insured_with: Mapped[str | None] = mapped_column(String(32), default=None)
    waiting_days: Mapped[int | None] = mapped_column(default=None)  # overrides the product's

    product: Mapped[Product] = relationship(back_populates="benefits")


class CoefficientTable(Base):
    """Sum-insured coefficients by age band and occupation class (保额系数表), versioned."""

    __tablename__ = "coefficient_tables"
    __table_args__ = (UniqueConstraint("product_id", "version"), catalogue_table())

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    version: Mapped[int]
    source: Mapped[str] = mapped_column(String(60), default="catalogue")  # or "proposal:<id>"
    cells: Mapped[list[CoefficientCell]] = relationship(
        back_populates="table", order_by="(CoefficientCell.age_min, CoefficientCell.occupation_class)"
    )


class CoefficientCell(Base):
    __tablename__ = "coefficient_cells"
    __table_args__ = (UniqueConstraint("table_id", "age_min", "occupation_class"),
                      catalogue_table())

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("coefficient_tables.id"), index=True)
    age_min: Mapped[int]
    age_max: Mapped[int]  # inclusive
    occupation_class: Mapped[int]
    coefficient: Mapped[Decimal] = mapped_column(Numeric(8, 4))

    table: Mapped[CoefficientTable] = relationship(back_populates="cells")


class SalePeriod(Base):
    """A sale period (期): a window to enrol, the first day of cover, and the table in force."""

    __tablename__ = "sale_periods"
    __table_args__ = (
        UniqueConstraint("product_id", "code"),
        # A period names its product's project too, and the key holds the two together, so a
        # policy checks its period, product and project in one key (policies.models.Policy).
        ForeignKeyConstraint(["product_id", "project_id"], ["products.id", "products.project_id"]),
        UniqueConstraint("id", "product_id", "project_id"),
        catalogue_table(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(index=True)
    project_id: Mapped[int]
    code: Mapped[str] = mapped_column(String(20))
    sale_start: Mapped[date] = mapped_column(Date)
    sale_end: Mapped[date] = mapped_column(Date)  # inclusive
    # Cover starts the later of this date and the day after enrolment, for term_days.
    cover_start: Mapped[date] = mapped_column(Date)
    coefficient_table_id: Mapped[int] = mapped_column(ForeignKey("coefficient_tables.id"))

    product: Mapped[Product] = relationship(back_populates="periods")
    coefficient_table: Mapped[CoefficientTable] = relationship()
