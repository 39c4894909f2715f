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

from pydantic import BaseModel, ConfigDict, Field, field_validator

BENEFIT_KINDS = (
    "accidental_death", "disability", "accidental_medical", "sudden_death",
    "hospital_allowance", "ckd_progression", "dialysis_start", "ckd_hospital_cash",
    "dialysis_allowance", "transplant",
)
# Benefits paid per day (sum insured = daily amount x max days).
DAILY_KINDS = ("hospital_allowance", "ckd_hospital_cash", "dialysis_allowance")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _no_float(v):
    if isinstance(v, float):
        raise ValueError("write amounts and rates as strings, e.g. \"0.15\", not floats")
    return v


class BenefitDef(_Strict):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    kind: str
    name_zh: str = Field(min_length=1, max_length=60)
    name_en: str = Field(min_length=1, max_length=100)
    base_sum_insured: Decimal
    pure_risk_rate: Decimal
    deductible: Decimal = Decimal("0")
    coinsurance_with_social: Decimal | None = None
    coinsurance_without_social: Decimal | None = None
    daily_amount: Decimal | None = None
    max_days: int | None = None
    shares_sum_insured_with: str | None = None
    waiting_days: int | None = None

    _floats = field_validator(
        "base_sum_insured", "pure_risk_rate", "deductible", "coinsurance_with_social",
        "coinsurance_without_social", "daily_amount", mode="before")(_no_float)


class BandDef(_Strict):
    ages: tuple[int, int]
    row: list[Decimal]

    _floats = field_validator("row", mode="before")(
        lambda v: [_no_float(x) for x in v] if isinstance(v, list) else v)


class CoefficientsDef(_Strict):
    classes: list[int]
    bands: list[BandDef]


class PeriodDef(_Strict):
    code: str = Field(min_length=1, max_length=20)
    sale_start: date
    sale_end: date
    cover_start: date


class ProductDef(_Strict):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=150)
    line: str = "accident"
    uniform_premium: Decimal
    term_days: int = 365
    min_age: int
    max_age: int
    allowed_classes: list[int]
    waiting_days: int = 0
    expense_loading: Decimal
    # Claims expected per premium (the pricing basis); None: the project's a priori ratio.
    expected_loss_ratio: Decimal | None = None
    # Surplus raises the cover of policies with at least this many days left, by at most
    # this rate in one close (提升保额; see mutua.settlement.allocation).
    min_uplift_days: int = 30
    max_uplift_rate: Decimal = Decimal("0.5")
    exclusions: list[str] = []
    underwriting: dict = {}
    benefits: list[BenefitDef]
    coefficients: CoefficientsDef
    periods: list[PeriodDef] = []

    _floats = field_validator("uniform_premium", "expense_loading", "expected_loss_ratio",
                              "max_uplift_rate", mode="before")(_no_float)


class ProjectDef(_Strict):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=150)
    target_group: str = Field(min_length=1, max_length=200)
    reserving_method: str = "bf"
    a_priori_loss_ratio: Decimal = Decimal("0.60")

    _floats = field_validator("a_priori_loss_ratio", mode="before")(_no_float)


class CatalogDef(_Strict):
    project: ProjectDef
    products: list[ProductDef] = []


class CellIn(BaseModel):
    age_min: int
    age_max: int
    occupation_class: int
    coefficient: Decimal


class PeriodIn(PeriodDef):
    product_code: str


class BenefitOut(BaseModel):
    code: str
    kind: str
    name_zh: str
    name_en: str
    base_sum_insured: Decimal
    pure_risk_rate: Decimal
    deductible: Decimal
    coinsurance_with_social: Decimal | None
    coinsurance_without_social: Decimal | None
    daily_amount: Decimal | None
    max_days: int | None
    shares_sum_insured_with: str | None


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
