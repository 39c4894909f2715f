"""What adjudication is given (plain frozen values the claims service reads from the
database): a policy's terms and benefits as they stood on the event date, a claim's facts
and items, and what was already paid or approved on the policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from mutua.money import ZERO


@dataclass(frozen=True)
class BenefitTerms:
    """One benefit as it stood on the event date (sum insured includes uplifts)."""

    benefit_id: int
    code: str
    kind: str
    sum_insured: Decimal
    deductible: Decimal = ZERO
    coinsurance_with_social: Decimal | None = None  # share paid, e.g. 1.0
    coinsurance_without_social: Decimal | None = None  # e.g. 0.6
    daily_amount: Decimal | None = None
    max_days: int | None = None
    shares_sum_insured_with: str | None = None  # code of the benefit whose sum is shared
    waiting_days: int | None = None  # overrides the policy's


@dataclass(frozen=True)
class PolicyTerms:
    policy_id: int
    status: str
    cover_start: date
    cover_end: date  # inclusive
    occupation_class: int
    benefits: tuple[BenefitTerms, ...]
    waiting_days: int = 0
    exclusions: frozenset[str] = frozenset()
    covered_classes: frozenset[int] | None = None  # None: every class

    def benefit(self, code: str) -> BenefitTerms | None:
        return next((b for b in self.benefits if b.code == code), None)


@dataclass(frozen=True)
class ItemFacts:
    """One claimed item. Which fields matter depends on the benefit's kind."""

    benefit_code: str
    claimed_amount: Decimal | None = None  # the member's stated loss for lump sums
    disability_grade: int | None = None
    invoice_amount: Decimal | None = None
    social_insurance_paid: Decimal = ZERO
    other_insurance_paid: Decimal = ZERO
    has_social_insurance: bool = False
    hospital_days: int | None = None
    symptoms_began_at: datetime | None = None
    died_at: datetime | None = None
    progression_verified: bool | None = None


@dataclass(frozen=True)
class ClaimFacts:
    event_date: date
    event_type: str
    items: tuple[ItemFacts, ...]
    occupation_class_at_event: int | None = None  # None: the policy's class
    circumstances: frozenset[str] = frozenset()  # e.g. {"drunk_driving"} found on review


@dataclass(frozen=True)
class PriorItem:
    """An item already paid or approved on the same policy."""

    benefit_code: str
    event_date: date
    approved: Decimal
    invoice_amount: Decimal | None = None
    disability_grade: int | None = None
    days_paid: int = 0
    hospital_days: int | None = None
