"""The claims experience the demo draws from: who claims, for what, how much and when.

Who claims is drawn over whole columns of policies with numpy, benefit by benefit, as a
Poisson chance per policy over its days of cover in the window. The frequencies are
calibrated to what an inclusive accident pool plausibly runs at: each product's claims cost
TARGET_LOSS_RATIO (70%) of its premium in an average year, so that, with claims reported
and paid a little after they happen, most quarters of a pool of a few thousand members
close between 40% and 75%. Deaths and disabilities, rare and large, come in at
LARGE_CLAIM_EXPERIENCE (30%) of the rate the catalogue prices them at (the price carries a
margin for the claims that make a bad quarter); medical bills and hospital days carry the
rest, in proportion to their priced cost. So a quarter is mostly many small claims, and
the odd death or disability makes a bad one.

Within a product the classes differ as the article's uniform premium assumes: the sum
insured scales by the coefficient (the inverse of the class relativity 1 : 1.5 : 2 : 3 : 5 :
8, DOMAIN.md section 4), and deaths and disabilities are as much more frequent as the cover
is smaller, so every class costs the pool the same; riders and builders also have more
minor injuries (medical and hospital claims by the square root of the relativity); sudden
death and illness do not follow the job. With the demo catalogue that gives about one
accidental death a year per 40,000 office workers and one per 5,000 class 6 riders, and
medical claims (median invoice 450 yuan) by far the most common. Each claim then gets a
size (log-normal invoices, disability grades skewed to the light end), dates (a report
delay of days to months by kind, REPORT_DELAY_DAYS; handling time; weekly payment batches
on Fridays, so claims decided late in a quarter are paid in the next).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.catalog.models import Benefit, Product, Project
from mutua.claims import adjudication as rules
from mutua.claims.models import REPORTED
from mutua.dates import SHANGHAI
from mutua.money import round_fen

CLASS_RELATIVITY = np.array([0, 1, 1.5, 2, 3, 5, 8], dtype=float)
KINDS = ("accidental_medical", "hospital_allowance", "disability", "sudden_death",
         "accidental_death")
LARGE_KINDS = frozenset({"disability", "sudden_death", "accidental_death"})
# An average year's claims as a share of premium: mid-band for inclusive accident cover.
TARGET_LOSS_RATIO = 0.70
# Deaths and disabilities against the rate they are priced at (see the module docstring).
LARGE_CLAIM_EXPERIENCE = 0.3
# Minor injuries rise with the job's risk, less steeply than deaths: relativity ** 0.5.
MINOR_INJURY_GRADIENT = 0.5
# Disability grades 10 (lightest) .. 1: most injuries grade 9-10.
GRADE_WEIGHTS = np.array([0.36, 0.24, 0.14, 0.09, 0.06, 0.04, 0.03, 0.02, 0.01, 0.01])
# Grade g pays (11 - g) x 10% of the sum insured: 0.272 of it on average.
MEAN_GRADE_SHARE = float(GRADE_WEIGHTS @ (np.arange(1, 11) / 10))
DISABILITY_WITH_MEDICAL = 0.5  # disability claims that also bring medical bills (3x larger)
MEDICAL_MEDIAN_INVOICE = 450.0  # yuan; log-normal with sigma 0.8, mean about 620
MEDICAL_SIGMA = 0.8
SOCIAL_INSURED_SHARE = 0.6  # claimants with social medical insurance
SOCIAL_SHARE_RANGE = (0.2, 0.5)  # of the invoice that social insurance pays
HOSPITAL_STAY_P = 1 / 8  # days in hospital: 1 + geometric, about 9 on average
SUDDEN_DEATH_WITHIN_24H = 0.85  # the rest die later than 24 hours after symptoms: not covered
PAYOUT_SAMPLE = 20_000  # draws behind each expected medical payout (a fixed sample)
EXCLUSION_FOUND = 0.02  # accident claims where review finds drunk driving (where excluded)
# Days from the event to the report, log-normal by kind (median, sigma): a family reports a
# death within days; medical invoices are gathered after discharge, a week or two and now
# and then months; a disability is reported once its grade can be assessed, months after
# the accident. About one claim in five is reported in a later quarter than its event, so
# the pools' triangles develop; a claim not reported by the build day is not there yet
# (it is what IBNR is for).
REPORT_DELAY_DAYS = {"accidental_death": (4.0, 0.8), "sudden_death": (4.0, 0.8),
                     "accidental_medical": (10.0, 1.0), "hospital_allowance": (14.0, 1.0),
                     "disability": (75.0, 0.6)}


@dataclass
class Drawn:
    """One demo claim before it is written."""

    policy: int  # row index into the policy columns
    kind: str
    event_type: str
    event_date: date
    reported_on: date
    items: list[rules.ItemFacts]
    kinds: list[str]
    circumstances: frozenset[str] = frozenset()
    report_engine: rules.Decision | None = None
    final: rules.Decision | None = None
    decided_on: date | None = None
    paid_on: date | None = None
    status: str = REPORTED
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProductInfo:
    line: str
    waiting_days: int
    exclusions: frozenset[str]
    allowed: frozenset[int]
    benefits: tuple[Benefit, ...]
    project_code: str
    premium: float = 0.0

    def benefit_of(self, kind: str) -> Benefit | None:
        return next((b for b in self.benefits if b.kind == kind), None)

    def waiting_days_of(self, kind: str) -> int:
        b = self.benefit_of(kind)
        return self.waiting_days if b is None or b.waiting_days is None else b.waiting_days

    def expected_costs(self) -> dict[str, float]:
        """Yuan a policy-year of each claim kind costs on average (see the module docstring).

        >>> death = Benefit(kind="accidental_death", base_sum_insured=Decimal(100000),
        ...                 pure_risk_rate=Decimal("0.00008"))
        >>> medical = Benefit(kind="accidental_medical", base_sum_insured=Decimal(10000),
        ...                   pure_risk_rate=Decimal("0.0012"))
        >>> info = ProductInfo("accident", 0, frozenset(), frozenset(), (death, medical), "X", 36)
        >>> {k: round(v, 2) for k, v in info.expected_costs().items()}  # 70% of 36 in all
        {'accidental_medical': 22.8, 'accidental_death': 2.4}
        """
        priced = {k: float(b.pure_risk_rate) * float(b.base_sum_insured) for k in KINDS
                  if (b := self.benefit_of(k)) is not None and b.pure_risk_rate}
        large = {k: v * LARGE_CLAIM_EXPERIENCE for k, v in priced.items() if k in LARGE_KINDS}
        small = {k: v for k, v in priced.items() if k not in LARGE_KINDS}
        rest = max(0.0, TARGET_LOSS_RATIO * self.premium - sum(large.values()))
        scale = rest / sum(small.values()) if small else 0.0
        return {k: v * scale for k, v in small.items()} | large

    def mean_payouts(self, kind: str, coefficient: np.ndarray) -> np.ndarray:
        """What a claim of ``kind`` pays on average, per policy (by its coefficient)."""
        b = self.benefit_of(kind)
        cover = float(b.base_sum_insured) * coefficient
        if kind == "accidental_death":
            return cover
        if kind == "sudden_death":
            return cover * SUDDEN_DEATH_WITHIN_24H
        if kind == "disability":
            medical = self.benefit_of("accidental_medical")
            extra = 0.0 if medical is None else DISABILITY_WITH_MEDICAL * _mean_capped(
                _medical_payouts(medical, scale=3.0), float(medical.base_sum_insured) * coefficient)
            return cover * MEAN_GRADE_SHARE + extra
        if kind == "hospital_allowance":
            daily = float(b.daily_amount or b.base_sum_insured / 30) * coefficient
            return daily * _mean_stay(b.max_days)
        return _mean_capped(_medical_payouts(b), cover)

    def weights(self, kind: str, relativity: np.ndarray, payout: np.ndarray) -> np.ndarray:
        """How much more often each policy claims ``kind`` than another of the product."""
        if kind in ("accidental_death", "disability"):
            return 1.0 / payout  # a smaller cover for a riskier job: every class costs the same
        if self.line == "accident" and kind != "sudden_death":
            return relativity ** MINOR_INJURY_GRADIENT
        return np.ones(len(payout))


def _medical_payouts(benefit: Benefit, scale: float = 1.0) -> np.ndarray:
    """What the rules pay on a fixed sample of medical claims under ``benefit``'s deductible
    and co-insurance, before its limit: the sample behind the expected payout."""
    def share(coinsurance: Decimal | None) -> float:
        return 1.0 if coinsurance is None else float(coinsurance)

    return _payout_sample(float(benefit.deductible or 0), share(benefit.coinsurance_with_social),
                          share(benefit.coinsurance_without_social), scale)


@cache
def _payout_sample(deductible: float, with_social: float, without_social: float,
                   scale: float) -> np.ndarray:
    invoice, insured, social = _medical_bills(np.random.default_rng(20260101), PAYOUT_SAMPLE,
                                              scale)
    base = np.maximum(invoice - social - deductible, 0.0)
    return np.minimum(base * np.where(insured, with_social, without_social), invoice - social)


def _medical_bills(g: np.random.Generator, n: int, scale: float = 1.0):
    """Invoices, who has social insurance, and what it paid: n claims' bills."""
    invoice = np.round(g.lognormal(math.log(MEDICAL_MEDIAN_INVOICE * scale), MEDICAL_SIGMA, n),
                       2)
    insured = g.random(n) < SOCIAL_INSURED_SHARE
    social = np.where(insured, np.round(invoice * np.round(g.uniform(*SOCIAL_SHARE_RANGE, n), 2),
                                        2), 0.0)
    return invoice, insured, social


def _mean_capped(sample: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """E[min(X, limit)] for each limit, from a sample of X (few distinct limits)."""
    distinct, inverse = np.unique(np.round(limits, 2), return_inverse=True)
    return np.array([np.minimum(sample, c).mean() for c in distinct])[inverse]


def _mean_stay(max_days: int | None) -> float:
    """Mean days paid of a stay of 1 + geometric(HOSPITAL_STAY_P) days, capped at max_days."""
    days = np.arange(1, (max_days or 365) + 1)
    p_longer = (1 - HOSPITAL_STAY_P) ** (days - 1)  # P(stay >= d)
    return float(p_longer.sum())


def product_infos(db: Session) -> dict[int, ProductInfo]:
    codes = dict(db.execute(select(Project.id, Project.code)).all())
    out = {}
    for p in db.scalars(select(Product)):
        out[p.id] = ProductInfo(p.line, p.waiting_days, frozenset(p.exclusions or ()),
                                frozenset(p.allowed_classes or ()), tuple(p.benefits),
                                codes[p.project_id], float(p.uniform_premium))
    return out


def _exposure(cols, start: date | None, end: date) -> np.ndarray:
    """Years of each policy's cover from ``start`` to ``end``."""
    lo = np.array([d.toordinal() for d in cols["cover_start"]])
    if start is not None:
        lo = np.maximum(lo, start.toordinal())
    hi = np.array([min(d, end).toordinal() for d in cols["cover_end"]])
    return np.clip(hi - lo + 1, 0, None) / 365.0


def claim_rates(cols, products: dict[int, ProductInfo], *, start: date | None, end: date
                ) -> dict[str, np.ndarray]:
    """Claims per policy-year of each kind, per policy. Within a product the rates keep the
    class weights and, over the policies' exposure, pay the product's expected cost; a
    benefit with a waiting period claims as much more often as its year of paying cover is
    shorter (claims in the waiting period are made, and refused). Kidney products have none
    here (their claims come from the health records)."""
    exposure = _exposure(cols, start, end)
    coefficient = cols["coefficient"].astype(float)
    relativity = CLASS_RELATIVITY[np.clip(cols["occupation_class"], 1, 6)]
    rates = {kind: np.zeros(len(exposure)) for kind in KINDS}
    for product_id, info in products.items():
        mask = cols["product_id"] == product_id
        years = exposure[mask]
        if info.line == "ckd" or not mask.any() or years.sum() == 0:
            continue
        for kind, cost in info.expected_costs().items():
            payout = info.mean_payouts(kind, coefficient[mask])
            weight = info.weights(kind, relativity[mask], payout)
            paying = 1 - min(info.waiting_days_of(kind), 364) / 365
            rates[kind][mask] = (weight * cost * years.sum() / (years * weight * payout).sum()
                                 / paying)
    return rates


def claimants(rng, cols, products: dict[int, ProductInfo], *, start: date | None,
               end: date) -> list[tuple[int, str]]:
    """(policy row, benefit kind) of every claim, ordered by policy: per benefit,
    P(claim) = 1 - exp(-rate x exposure)."""
    exposure = _exposure(cols, start, end)
    rates = claim_rates(cols, products, start=start, end=end)
    chosen = []
    for kind in KINDS:
        hit = np.flatnonzero(rng.random(len(exposure)) < 1 - np.exp(-rates[kind] * exposure))
        chosen += [(int(i), kind) for i in hit]
    return sorted(chosen, key=lambda c: (c[0], KINDS.index(c[1])))


def draw_claim(rng, cols, i: int, kind: str, products: dict[int, ProductInfo], *,
          start: date | None, end: date, today: date) -> Drawn | None:
    info = products[int(cols["product_id"][i])]
    first = cols["cover_start"][i] if start is None else max(start, cols["cover_start"][i])
    last = min(cols["cover_end"][i], end)
    event = first + timedelta(days=int(rng.integers(0, (last - first).days + 1)))
    median, sigma = REPORT_DELAY_DAYS[kind]
    reported = event + timedelta(days=1 + int(rng.lognormal(math.log(median), sigma)))
    if reported > today:
        return None
    code = info.benefit_of(kind).code
    event_type = ("sudden_death" if kind == "sudden_death"
                  else "illness" if info.line != "accident" else "accident")
    items, kinds = [_item(rng, kind, code, event)], [kind]
    medical = info.benefit_of("accidental_medical")
    if kind == "disability" and medical is not None and rng.random() < 0.5:
        items.append(_item(rng, "accidental_medical", medical.code, event, scale=3.0))
        kinds.append("accidental_medical")
    found = frozenset()
    if event_type == "accident" and "drunk_driving" in info.exclusions \
            and rng.random() < EXCLUSION_FOUND:
        found = frozenset({"drunk_driving"})
    return Drawn(policy=i, kind=kind, event_type=event_type, event_date=event,
                 reported_on=reported, items=items, kinds=kinds, circumstances=found)


def _item(rng, kind: str, code: str, event: date, scale: float = 1.0) -> rules.ItemFacts:
    if kind == "accidental_medical":
        invoice, insured, social = (x[0] for x in _medical_bills(rng, 1, scale))
        return rules.ItemFacts(benefit_code=code, invoice_amount=_yuan(invoice),
                               social_insurance_paid=_yuan(social),
                               has_social_insurance=bool(insured))
    if kind == "hospital_allowance":
        return rules.ItemFacts(benefit_code=code,
                               hospital_days=1 + int(rng.geometric(HOSPITAL_STAY_P)))
    if kind == "disability":
        grade = 10 - int(rng.choice(10, p=GRADE_WEIGHTS))
        return rules.ItemFacts(benefit_code=code, disability_grade=grade)
    if kind == "sudden_death":
        onset = datetime.combine(event, time(int(rng.integers(0, 20)), 0), SHANGHAI)
        hours = (rng.exponential(4) if rng.random() < SUDDEN_DEATH_WITHIN_24H
                 else rng.uniform(25, 72))
        return rules.ItemFacts(benefit_code=code, symptoms_began_at=onset,
                               died_at=onset + timedelta(hours=float(round(hours, 2))))
    return rules.ItemFacts(benefit_code=code)


def _yuan(x: float) -> Decimal:
    return round_fen(Decimal(str(round(float(x), 2))))
