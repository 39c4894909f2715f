"""Pure checks on product definitions, the coefficient look-up and a policy's risk rate.

A definition that contradicts itself is refused whole, with every problem named by its
path in the file (``products[0].coefficients.bands[1].ages``) and the rule it breaks.

Under a uniform premium (保费统一) every cell of the coefficient table pays the same premium,
and the coefficient scales the sum insured down by the cell's relative risk (a class-6 rider
at 0.125 is about 8 times as likely to claim per yuan as a class-1 clerk). A benefit's
``pure_risk_rate`` is the rate at coefficient 1, so a policy's own rate is that rate
divided by its coefficient (:func:`risk_rate`), and every cell expects the same claim cost
a year. The self-check (:func:`check_expected_cost`) holds each cell's expected claim cost
to the premium times the product's expected loss ratio, within ``COST_TOLERANCE``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from mutua.actuarial import patterns
from mutua.catalog.benefit_kinds import BENEFIT_KINDS, DAILY_KINDS
from mutua.catalog.schemas import CatalogDef, ProductDef
from mutua.errors import Problem
from mutua.money import round_fen

OCCUPATION_CLASSES = (1, 2, 3, 4, 5, 6)
# How far a cell's expected claim cost may stray from premium x expected loss ratio (as a
# share of the latter) before the product is refused: the pure risk rates and the premium
# must describe the same product.
COST_TOLERANCE = Decimal("0.5")


@dataclass(frozen=True)
class Cell:
    age_min: int
    age_max: int
    occupation_class: int
    coefficient: Decimal


def cells_of(product: ProductDef) -> list[Cell]:
    co = product.coefficients
    return [Cell(b.ages[0], b.ages[1], cls, coef)
            for b in co.bands for cls, coef in zip(co.classes, b.row, strict=False)]


def check_catalog(defn: CatalogDef) -> list[Problem]:
    problems: list[Problem] = []
    if defn.project.reserving_method not in ("chainladder", "bf"):
        problems.append(Problem("project.reserving_method", "must be chainladder or bf"))
    if not Decimal(0) < defn.project.a_priori_loss_ratio <= Decimal(2):
        problems.append(Problem("project.a_priori_loss_ratio", "must be above 0 and at most 2"))
    seen = set()
    for i, p in enumerate(defn.products):
        if p.code in seen:
            problems.append(Problem(f"products[{i}].code", "%(code)s appears twice", code=p.code))
        seen.add(p.code)
        found = check_product(p, path=f"products[{i}]")
        if not found:  # the cost check needs a product that is otherwise sound
            found = check_expected_cost(p, default_loss_ratio=defn.project.a_priori_loss_ratio,
                                        path=f"products[{i}]")
        problems += found
    return problems


def risk_rate(pure_risk_rate: Decimal, coefficient: Decimal) -> Decimal:
    """A policy's own pure risk rate per yuan of a benefit's sum insured, a year.

    The coefficient scales the cover by the inverse of the cell's relative risk, so the
    risk per yuan is the benefit's rate (priced at coefficient 1) divided by it:

    >>> risk_rate(Decimal("0.00008"), Decimal("0.125"))  # class 6: 8 times class 1
    Decimal('0.00064')
    >>> risk_rate(Decimal("0.0012"), Decimal("1"))
    Decimal('0.0012')
    """
    return pure_risk_rate / coefficient


def cell_expected_cost(benefits: Iterable[tuple[Decimal, Decimal]], coefficient: Decimal,
                       ) -> Decimal:
    """Expected claims a year of one policy in a cell: the sum over its benefits (base sum
    insured, pure risk rate) of sum insured x the policy's own rate, to the fen.

    >>> cell_expected_cost([(Decimal("100000"), Decimal("0.00008")),
    ...                     (Decimal("10000"), Decimal("0.0012"))], Decimal("0.125"))
    Decimal('20.00')
    """
    return round_fen(sum((round_fen(base * coefficient) * risk_rate(rate, coefficient)
                          for base, rate in benefits), Decimal(0)))


def check_expected_cost(p: ProductDef, *, default_loss_ratio: Decimal,
                        path: str = "product") -> list[Problem]:
    """Every cell's expected claims over the term within ``COST_TOLERANCE`` of premium x
    the product's expected loss ratio (the project's a priori loss ratio when it names
    none); the rates are a year's, so the cost is scaled by term_days / 365.

    SZNC-BASIC's benefits cost 8 + 5 + 12 + 2 = 27.00 a year in every cell; at a premium of
    36.00 and a loss ratio of 0.65 the target is 23.40 and 27.00 is 15% above it: accepted.
    """
    ratio = p.expected_loss_ratio or default_loss_ratio
    target = round_fen(p.uniform_premium * ratio)
    if target <= 0:
        return []
    benefits = [(b.base_sum_insured, b.pure_risk_rate) for b in p.benefits]
    for band in p.coefficients.bands:
        for cls, coefficient in zip(p.coefficients.classes, band.row, strict=False):
            cost = round_fen(cell_expected_cost(benefits, coefficient) * p.term_days / 365)
            if abs(cost - target) > target * COST_TOLERANCE:
                return [Problem(f"{path}.benefits",
                                "expected claims %(cost)s over the term for ages %(ages)s, "
                                "class %(cls)s are not within %(tolerance)s of premium x "
                                "expected loss ratio %(target)s; check the pure risk rates",
                                cost=cost, ages=f"{band.ages[0]}-{band.ages[1]}", cls=cls,
                                tolerance=f"{COST_TOLERANCE:.0%}", target=target)]
    return []


def check_product(p: ProductDef, *, path: str = "product") -> list[Problem]:
    out: list[Problem] = []

    def bad(field: str, rule: str, /, **params) -> None:
        out.append(Problem(f"{path}.{field}", rule, **params))

    if p.uniform_premium <= 0:
        bad("uniform_premium", "must be above zero")
    if not Decimal(0) <= p.expense_loading < Decimal(1):
        bad("expense_loading", "must be at least 0 and below 1")
    if not 0 <= p.min_age <= p.max_age <= 120:
        bad("min_age", "ages must satisfy 0 <= min_age <= max_age <= 120")
    if p.term_days < 1 or p.term_days > 3660:
        bad("term_days", "must be between %(low)s and %(high)s days", low=1, high=3660)
    if p.waiting_days < 0:
        bad("waiting_days", "must not be negative")
    if not p.allowed_classes or set(p.allowed_classes) - set(OCCUPATION_CLASSES):
        bad("allowed_classes", "must list occupation classes from 1 to 6")
    if p.line not in ("accident", "ckd", "health"):
        bad("line", "must be accident, ckd or health")
    if not 0 <= p.min_uplift_days <= 3660:
        bad("min_uplift_days", "must be between %(low)s and %(high)s days", low=0, high=3660)
    if not 0 <= p.grace_days <= 90:
        bad("grace_days", "must be between %(low)s and %(high)s days", low=0, high=90)
    if not 1 <= p.renewal_offer_days <= 365:
        bad("renewal_offer_days", "must be between %(low)s and %(high)s days", low=1, high=365)
    if not Decimal(0) <= p.cancellation_fee <= p.uniform_premium:
        bad("cancellation_fee", "must be at least 0 and at most the premium")
    if not Decimal(0) <= p.cancellation_fee_rate <= Decimal(1):
        bad("cancellation_fee_rate", "must be between 0 and 1 (100%)")
    if not Decimal(0) < p.max_uplift_rate <= Decimal(1):
        bad("max_uplift_rate", "must be above 0 and at most 1")
    if p.expected_loss_ratio is not None and not Decimal(0) < p.expected_loss_ratio <= Decimal(2):
        bad("expected_loss_ratio", "must be above 0 and at most 2")
    out += [Problem(f"{path}.reporting_pattern", rule)
            for rule in patterns.check_pattern(p.reporting_pattern)]
    out += check_benefits(p, path)
    out += check_coefficients(p, path)
    out += check_periods(p, path)
    return out


def check_benefits(p: ProductDef, path: str) -> list[Problem]:
    out: list[Problem] = []
    codes = [b.code for b in p.benefits]
    if not p.benefits:
        out.append(Problem(f"{path}.benefits", "a product needs at least one benefit"))
    for j, b in enumerate(p.benefits):
        here = f"{path}.benefits[{j}]"
        if codes.count(b.code) > 1:
            out.append(Problem(f"{here}.code", "%(code)s appears twice", code=b.code))
        if b.kind not in BENEFIT_KINDS:
            out.append(Problem(f"{here}.kind", "must be one of %(choices)s",
                                choices=", ".join(BENEFIT_KINDS)))
        for name in ("base_sum_insured", "deductible", "daily_amount"):
            value = getattr(b, name)
            if value is not None and value < 0:
                out.append(Problem(f"{here}.{name}", "must not be negative"))
        if b.base_sum_insured <= 0:
            out.append(Problem(f"{here}.base_sum_insured", "must be above zero"))
        if b.pure_risk_rate <= 0:
            out.append(Problem(f"{here}.pure_risk_rate", "must be above zero"))
        for name in ("coinsurance_with_social", "coinsurance_without_social"):
            value = getattr(b, name)
            if value is not None and not Decimal(0) < value <= Decimal(1):
                out.append(Problem(f"{here}.{name}", "must be above 0 and at most 1"))
        if b.kind == "accidental_medical" and b.coinsurance_without_social is None:
            out.append(Problem(f"{here}.coinsurance_without_social",
                               "medical benefits need co-insurance rates"))
        if b.kind in DAILY_KINDS and (not b.daily_amount or not b.max_days or b.max_days < 1):
            out.append(Problem(f"{here}.daily_amount", "daily benefits need daily_amount and max_days"))
        if b.shares_sum_insured_with and b.shares_sum_insured_with not in codes:
            out.append(Problem(f"{here}.shares_sum_insured_with",
                               "names no benefit of this product: %(code)s", code=b.shares_sum_insured_with))
        if b.waiting_days is not None and b.waiting_days < 0:
            out.append(Problem(f"{here}.waiting_days", "must not be negative"))
    return out


def check_coefficients(p: ProductDef, path: str) -> list[Problem]:
    here = f"{path}.coefficients"
    co = p.coefficients
    out: list[Problem] = []
    if sorted(co.classes) != sorted(set(co.classes)):
        out.append(Problem(f"{here}.classes", "lists a class twice"))
    missing = set(p.allowed_classes) - set(co.classes)
    if missing:
        out.append(Problem(f"{here}.classes", "missing class %(classes)s that the product "
                                              "allows", classes=sorted(missing)))
    extra = set(co.classes) - set(p.allowed_classes)
    if extra:
        out.append(Problem(f"{here}.classes", "class %(classes)s is not allowed by the product",
                            classes=sorted(extra)))
    for k, band in enumerate(co.bands):
        if len(band.row) != len(co.classes):
            out.append(Problem(f"{here}.bands[{k}].row",
                               "needs %(count)s coefficients, one per class", count=len(co.classes)))
        if any(c <= 0 for c in band.row):
            out.append(Problem(f"{here}.bands[{k}].row", "coefficients must be above zero"))
        if band.ages[0] > band.ages[1]:
            out.append(Problem(f"{here}.bands[{k}].ages", "first age is above the last"))
    out += check_bands_cover(sorted(b.ages for b in co.bands), p.min_age, p.max_age, here)
    return out


def check_bands_cover(bands: list[tuple[int, int]], lo: int, hi: int, here: str) -> list[Problem]:
    """Age bands must tile [lo, hi] exactly: no gap, no overlap."""
    if not bands:
        return [Problem(f"{here}.bands", "at least one age band is needed")]
    out = []
    if bands[0][0] != lo or bands[-1][1] != hi:
        out.append(Problem(f"{here}.bands", "must cover ages %(low)s to %(high)s exactly", low=lo, high=hi))
    for (a0, a1), (b0, b1) in zip(bands, bands[1:], strict=False):
        if b0 <= a1:
            out.append(Problem(f"{here}.bands", "age bands %(first)s and %(second)s overlap",
                                first=f"{a0}-{a1}", second=f"{b0}-{b1}"))
        elif b0 != a1 + 1:
            out.append(Problem(f"{here}.bands", "ages %(low)s to %(high)s have no band",
                                low=a1 + 1, high=b0 - 1))
    return out


def check_periods(p: ProductDef, path: str) -> list[Problem]:
    out = []
    codes = [x.code for x in p.periods]
    for k, per in enumerate(p.periods):
        here = f"{path}.periods[{k}]"
        out += check_period_dates(per.sale_start, per.sale_end, per.cover_start, here)
        if codes.count(per.code) > 1:
            out.append(Problem(f"{here}.code", "%(code)s appears twice", code=per.code))
    return out


def check_period_dates(sale_start, sale_end, cover_start, here: str) -> list[Problem]:
    out = []
    if sale_end < sale_start:
        out.append(Problem(f"{here}.sale_end", "must not be before sale_start"))
    if cover_start < sale_start:
        out.append(Problem(f"{here}.cover_start", "must not be before sale_start"))
    return out


def check_cells(cells: Iterable[Cell], *, min_age: int, max_age: int,
                classes: Iterable[int], path: str = "cells") -> list[Problem]:
    """A table given cell by cell (as a vote enacts it): every (band, class) present, once."""
    cells = list(cells)
    out: list[Problem] = []
    bands = sorted({(c.age_min, c.age_max) for c in cells})
    out += check_bands_cover(bands, min_age, max_age, path)
    want = set(classes)
    for band in bands:
        have = [c.occupation_class for c in cells if (c.age_min, c.age_max) == band]
        if len(have) != len(set(have)):
            out.append(Problem(path, "ages %(ages)s list a class twice", ages=f"{band[0]}-{band[1]}"))
        if set(have) != want:
            missing = sorted(want - set(have))
            ages = f"{band[0]}-{band[1]}"
            out.append(Problem(path, "ages %(ages)s miss class %(classes)s", ages=ages,
                               classes=missing) if missing else
                       Problem(path, "ages %(ages)s have extra classes", ages=ages))
    if any(c.coefficient <= 0 for c in cells):
        out.append(Problem(path, "coefficients must be above zero"))
    return out


def coefficient_for(cells: Iterable[Cell], *, age: int, occupation_class: int) -> Decimal | None:
    """The coefficient for an age and class, or None if the table has no such cell."""
    for c in cells:
        if c.age_min <= age <= c.age_max and c.occupation_class == occupation_class:
            return c.coefficient
    return None
