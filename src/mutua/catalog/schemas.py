"""The product definition format (YAML or JSON) and API shapes for the catalogue.

A definition file holds one project and its products::

    project: {code: SZ-NEWCITIZEN, name_zh: 深圳新市民意外保障, name_en: ..., target_group: ...}
    products:
      - code: SZNC-ACC
        name_zh: 深圳众惠保  name_en: ...  line: accident
        uniform_premium: "39.00"  term_days: 365  min_age: 16  max_age: 65
        allowed_classes: [1, 2, 3, 4, 5, 6]  waiting_days: 0  expense_loading: "0.15"
        expected_loss_ratio: "0.70"   # optional: the project's a_priori_loss_ratio otherwise
        min_uplift_days: 30  max_uplift_rate: "0.5"   # optional: these are the defaults
        reporting_pattern: ["0.15", "0.04", "0.01", "0"]   # share unreported per quarter
        exclusions: [drunk_driving, self_harm]
        benefits:
          - {code: death, kind: accidental_death, name_zh: 意外身故, name_en: Accidental death,
             base_sum_insured: "100000", pure_risk_rate: "0.00006"}
          - {code: disability, kind: disability, ..., shares_sum_insured_with: death}
        coefficients:
          classes: [1, 2, 3, 4, 5, 6]
          bands:
            - {ages: [16, 50], row: ["1", "0.667", "0.5", "0.333", "0.2", "0.125"]}
            - {ages: [51, 65], row: ["0.8", "0.533", "0.4", "0.267", "0.16", "0.1"]}
        periods:
          - {code: 2026P1, sale_start: 2026-01-01, sale_end: 2026-03-31, cover_start: 2026-01-02}

Money and rates are strings (or integers) so no float ever carries them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from mutua.bounds import Day, Yuan, bounded_json


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# A rate or coefficient: between 0 and 100, to at most 8 decimal places. "1e30" in a
# definition was a 500 (InvalidOperation in the database type); a bound refuses it first.
Rate = Annotated[Decimal, Field(ge=0, le=100, decimal_places=8)]
Share = Annotated[Decimal, Field(ge=0, le=1, decimal_places=4)]
Days = Annotated[int, Field(ge=0, le=3660)]
Age = Annotated[int, Field(ge=0, le=150)]
OccupationClass = Annotated[int, Field(ge=1, le=6)]


def _no_float(v):
    if isinstance(v, float):
        raise ValueError("write amounts and rates as strings, e.g. \"0.15\", not floats")
    return v


class DeclarationQuestion(_Strict):
    """One health-declaration question (健康告知) a product asks before it is bought; see
    policies.domain.declaration_problems for how the answers are read."""

    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    zh: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=300)
    refuse_on: Literal["yes", "no"] | None = "yes"


def _checked_declaration(underwriting: dict) -> dict:
    """underwriting["declaration"], if given: at most 10 well-formed questions, codes unique."""
    if "declaration" not in underwriting:
        return underwriting
    questions = underwriting["declaration"]
    if not isinstance(questions, list) or len(questions) > 10:
        raise ValueError("declaration must be a list of at most 10 questions")
    checked = [DeclarationQuestion.model_validate(q).model_dump() for q in questions]
    if len({q["code"] for q in checked}) != len(checked):
        raise ValueError("declaration question codes must be unique")
    return {**underwriting, "declaration": checked}


class BenefitDef(_Strict):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    kind: str = Field(max_length=32)
    name_zh: str = Field(min_length=1, max_length=60)
    name_en: str = Field(min_length=1, max_length=100)
    base_sum_insured: Yuan
    pure_risk_rate: Rate
    deductible: Yuan = Decimal("0")
    coinsurance_with_social: Share | None = None
    coinsurance_without_social: Share | None = None
    daily_amount: Yuan | None = None
    max_days: Days | None = None
    shares_sum_insured_with: str | None = Field(default=None, max_length=32)
    waiting_days: Days | None = None

    _floats = field_validator(
        "base_sum_insured", "pure_risk_rate", "deductible", "coinsurance_with_social",
        "coinsurance_without_social", "daily_amount", mode="before")(_no_float)


class BandDef(_Strict):
    ages: tuple[Age, Age]
    row: list[Rate] = Field(max_length=6)

    _floats = field_validator("row", mode="before")(
        lambda v: [_no_float(x) for x in v] if isinstance(v, list) else v)


class CoefficientsDef(_Strict):
    classes: list[OccupationClass] = Field(max_length=6)
    bands: list[BandDef] = Field(max_length=151)


class PeriodDef(_Strict):
    code: str = Field(min_length=1, max_length=20)
    sale_start: Day
    sale_end: Day
    cover_start: Day


class ProductDef(_Strict):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=150)
    line: str = Field(default="accident", max_length=20)
    uniform_premium: Yuan
    term_days: Days = 365
    min_age: Age
    max_age: Age
    allowed_classes: list[OccupationClass] = Field(max_length=6)
    waiting_days: Days = 0
    expense_loading: Share
    # Claims expected per premium (the pricing basis); None: the project's a priori ratio.
    expected_loss_ratio: Rate | None = None
    # Surplus raises the cover of policies with at least this many days left, by at most
    # this rate in one close (提升保额; see mutua.settlement.allocation).
    min_uplift_days: Days = 30
    max_uplift_rate: Rate = Decimal("0.5")
    # A premium not paid at enrolment covers from the start date if paid within this many
    # days; otherwise the policy lapses (policies.domain.grace_end).
    grace_days: Days = 30
    # Policies ending within this many days are offered renewal (policies.renewal_offers).
    renewal_offer_days: Days = 30
    # Kept from a refund on cancellation after the cooling-off period: a fixed fee (at most
    # the premium) plus this share of the unearned premium (policies.domain).
    cancellation_fee: Yuan = Decimal("0")
    cancellation_fee_rate: Share = Decimal("0")
    # Share of an accident quarter's ultimate claims still unreported at the end of each
    # development quarter (0 = the accident quarter): non-increasing, ending at 0. The
    # close's Bornhuetter-Ferguson IBNR reads it (mutua.actuarial.patterns).
    reporting_pattern: list[Share] = Field(min_length=1, max_length=40)
    exclusions: list[Annotated[str, Field(max_length=40)]] = Field(default=[], max_length=50)
    # The rules a CKD product underwrites by (stages, albuminuria, labs): at most 20,000
    # characters as JSON (10 MB of "notes" were stored here once).
    underwriting: Annotated[dict[str, Any], Field(max_length=50),
                            AfterValidator(bounded_json(20_000)),
                            AfterValidator(_checked_declaration)] = {}
    benefits: list[BenefitDef] = Field(max_length=30)
    coefficients: CoefficientsDef
    periods: list[PeriodDef] = Field(default=[], max_length=100)

    _floats = field_validator("uniform_premium", "expense_loading", "expected_loss_ratio",
                              "max_uplift_rate", "cancellation_fee", "cancellation_fee_rate",
                              mode="before")(_no_float)
    _pattern_floats = field_validator("reporting_pattern", mode="before")(
        lambda v: [_no_float(x) for x in v] if isinstance(v, list) else v)


class ProjectDef(_Strict):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=150)
    target_group: str = Field(min_length=1, max_length=200)
    reserving_method: str = Field(default="bf", max_length=16)
    a_priori_loss_ratio: Annotated[Decimal, Field(ge=0, le=10, decimal_places=4)] = \
        Decimal("0.60")

    _floats = field_validator("a_priori_loss_ratio", mode="before")(_no_float)


class CatalogDef(_Strict):
    project: ProjectDef
    products: list[ProductDef] = Field(default=[], max_length=50)


class CellIn(BaseModel):
    age_min: Age
    age_max: Age
    occupation_class: OccupationClass
    coefficient: Rate


class PeriodIn(PeriodDef):
    product_code: str = Field(max_length=40)


class BenefitOut(BenefitDef):
    """A benefit as the catalogue defined it, read back (the same terms, the same bounds)."""


class PeriodOut(BaseModel):
    id: int
    code: str
    sale_start: date
    sale_end: date
    cover_start: date
    coefficient_table_id: int


class ProductOut(BaseModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    line: str
    uniform_premium: Decimal
    term_days: int
    min_age: int
    max_age: int
    allowed_classes: list[int]
    waiting_days: int
    expense_loading: Decimal
    expected_loss_ratio: Decimal | None
    min_uplift_days: int
    max_uplift_rate: Decimal
    grace_days: int
    renewal_offer_days: int
    cancellation_fee: Decimal
    cancellation_fee_rate: Decimal
    reporting_pattern: list[Decimal]
    exclusions: list[str]
    underwriting: dict
    benefits: list[BenefitOut]
    periods: list[PeriodOut]


class ProjectOut(BaseModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    target_group: str
    status: str
    reserving_method: str
    products: list[str]
