"""The claims part of the demo mutual: claims across every project's policies, a window at a time.

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
on Fridays, so claims decided late in a quarter are paid in the next) and is decided by
the same pure rules the service uses, against the cover on the event date (uplifts from
earlier closes included). Everything is written in bulk, and the books get one entry per
project, day and kind, so every project's ledger balances.

Kidney benefits are left to the health demo; here claims are accident and illness cash.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mutua import numbering
from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.models import Benefit, Product, Project
from mutua.claims import adjudication as rules
from mutua.claims import books
from mutua.claims.models import (
    CLOSED,
    DECIDED,
    PAID,
    REOPENED,
    REPORTED,
    UNDER_REVIEW,
    CaseReserveMovement,
    Claim,
    ClaimDecision,
    ClaimItem,
    ClaimPayment,
    PaymentBatch,
)
from mutua.claims.workflow import due_on
from mutua.dates import SHANGHAI
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.money import ZERO, round_fen
from mutua.policies import domain as policies_domain
from mutua.policies.models import Policy, SumInsuredUplift
from mutua.settings import get_settings

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
APPEAL_RATE = 0.4  # share of denied claims whose member appeals
CHUNK = 5000
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


def build(db: Session, *, rng: np.random.Generator, today: date, actor: Principal) -> dict:
    """Claims on every day of cover before today, and a summary of them."""
    return summary(draw(db, rng=rng, today=today, actor=actor))


def draw(db: Session, *, rng: np.random.Generator, today: date, actor: Principal,
         start: date | None = None, end: date | None = None,
         later: list[tuple] | None = None) -> list[Drawn]:
    """Draw, decide and write the claims whose events fall from ``start`` to ``end`` (both
    included; by default all cover before today). Decisions and payments may come later,
    up to today. Returns what was written.

    With ``later`` (a list kept between calls for consecutive windows) the payments dated
    after ``end`` wait in it, so each project's weekly batch is written once, with every
    claim it pays, by the call whose window reaches its day; a call without ``end`` (the
    last window) or without ``later`` writes every payment at once.
    """
    last = today - timedelta(days=1) if end is None else min(end, today - timedelta(days=1))
    cols = _policies(db, start=start, end=last)
    products = _products(db)
    chosen = _claimants(rng, cols, products, start=start, end=last) if len(cols["id"]) else []
    terms_of = _terms(db, cols, np.unique([i for i, _ in chosen]), products)
    limit = Decimal(get_settings().auto_decide_limit_yuan)
    drawn = []
    for i, kind in chosen:
        claim = _draw(rng, cols, i, kind, products, start=start, end=last, today=today)
        if claim is None:  # not reported by today
            continue
        _decide(claim, terms_of(i, claim.event_date), rng, today, limit)
        drawn.append(claim)
    _write(db, drawn, cols, actor=actor, pay_through=None if later is None or end is None
           else last, later=later if later is not None else [])
    return drawn


# --- drawing ---------------------------------------------------------------------------------

def _policies(db: Session, *, start: date | None, end: date) -> dict[str, np.ndarray]:
    """Columns of the policies with cover on some day from ``start`` to ``end``."""
    where = [Policy.cover_start <= end]
    if start is not None:
        where.append(Policy.cover_end >= start)
    rows = db.execute(select(Policy.id, Policy.project_id, Policy.product_id, Policy.member_id,
                             Policy.occupation_class, Policy.cover_start, Policy.cover_end,
                             Policy.coefficient, Policy.status)
                      .where(*where).order_by(Policy.id)).all()
    names = ["id", "project_id", "product_id", "member_id", "occupation_class", "cover_start",
             "cover_end", "coefficient", "status"]
    return {n: np.array([r[k] for r in rows], dtype=object if k >= 5 else np.int64)
            for k, n in enumerate(names)}


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


def _products(db: Session) -> dict[int, ProductInfo]:
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


def _claimants(rng, cols, products: dict[int, ProductInfo], *, start: date | None,
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


def _draw(rng, cols, i: int, kind: str, products: dict[int, ProductInfo], *,
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


def _terms(db: Session, cols, chosen: np.ndarray, products: dict[int, ProductInfo]):
    """A function giving a claimant policy's terms on a date, from columns loaded in bulk."""
    ids = [int(cols["id"][i]) for i in chosen]
    uplifts: dict[int, list[tuple[int, date, Decimal]]] = defaultdict(list)
    for s in range(0, len(ids), CHUNK):
        for pid, bid, eff, added in db.execute(
                select(SumInsuredUplift.policy_id, SumInsuredUplift.benefit_id,
                       SumInsuredUplift.effective_from, SumInsuredUplift.sum_insured_added)
                .where(SumInsuredUplift.policy_id.in_(ids[s:s + CHUNK]))):
            uplifts[pid].append((bid, eff, added))

    def terms(i: int, on: date) -> rules.PolicyTerms:
        info = products[int(cols["product_id"][i])]
        coefficient = cols["coefficient"][i]
        extra = defaultdict(lambda: ZERO)
        for bid, eff, added in uplifts.get(int(cols["id"][i]), ()):
            if eff <= on:
                extra[bid] += added
        return rules.PolicyTerms(
            policy_id=int(cols["id"][i]), status=cols["status"][i],
            cover_start=cols["cover_start"][i], cover_end=cols["cover_end"][i],
            occupation_class=int(cols["occupation_class"][i]), exclusions=info.exclusions,
            covered_classes=info.allowed or None, waiting_days=info.waiting_days,
            benefits=tuple(rules.BenefitTerms(
                benefit_id=b.id, code=b.code, kind=b.kind,
                sum_insured=policies_domain.scaled_sum_insured(b.base_sum_insured, coefficient)
                + extra[b.id],
                deductible=b.deductible or ZERO,
                coinsurance_with_social=b.coinsurance_with_social,
                coinsurance_without_social=b.coinsurance_without_social,
                daily_amount=None if b.daily_amount is None
                else policies_domain.scaled_sum_insured(b.daily_amount, coefficient),
                max_days=b.max_days, shares_sum_insured_with=b.shares_sum_insured_with,
                waiting_days=b.waiting_days) for b in info.benefits))
    return terms


def _next_friday(after: date) -> date:
    return after + timedelta(days=(4 - after.weekday()) % 7 or 7)


def _decide(c: Drawn, terms: rules.PolicyTerms, rng, today: date, limit: Decimal) -> None:
    """Run the rules at report (the reserve) and at decision; place the claim in time."""
    facts = rules.ClaimFacts(event_date=c.event_date, event_type=c.event_type,
                             items=tuple(c.items))
    c.report_engine = rules.adjudicate(terms, facts)
    simple = (c.report_engine.outcome == rules.APPROVE and c.report_engine.approved <= limit
              and c.kind in rules.SIMPLE_KINDS and len(c.items) == 1)
    decided = c.reported_on if simple else (
        c.reported_on + timedelta(days=7 + int(rng.geometric(1 / 20))))
    if decided > today:
        c.status = REPORTED if (today - c.reported_on).days < 7 else UNDER_REVIEW
        return
    c.decided_on = decided
    c.final = rules.adjudicate(terms, rules.ClaimFacts(
        event_date=c.event_date, event_type=c.event_type, items=tuple(c.items),
        circumstances=c.circumstances))
    c.extra["auto"] = simple
    c.status = DECIDED
    if c.final.approved > 0:
        pay_day = _next_friday(decided)
        if pay_day <= today:
            c.paid_on, c.status = pay_day, PAID
    settled = c.paid_on or (decided if c.final.approved == 0 else None)
    if c.final.outcome == rules.DENY and rng.random() < APPEAL_RATE:
        settled = _appeal(c, rng, today)
    if settled is not None and (today - settled).days > 30:
        c.status = CLOSED


def _appeal(c: Drawn, rng, today: date) -> date | None:
    """Some denied members appeal (申诉); a handler answers a week or two later, upholding."""
    appeal_on = c.decided_on + timedelta(days=int(rng.integers(3, 15)))
    if appeal_on > today:
        return c.decided_on
    c.extra["appeal_on"] = appeal_on
    answer_on = appeal_on + timedelta(days=int(rng.integers(7, 21)))
    if answer_on > today:
        c.status = REOPENED
        return None
    c.extra["answer_on"] = answer_on
    return answer_on


# --- writing ---------------------------------------------------------------------------------

def _write(db: Session, drawn: list[Drawn], cols, *, actor: Principal,
           pay_through: date | None, later: list[tuple]) -> None:
    """Write the claims; payments dated after ``pay_through`` (if given) go to ``later``."""
    if not drawn:
        _write_money(db, [], [], [], actor=actor, pay_through=pay_through, later=later)
        return
    numbers = numbering.reserve(db, "claim", len(drawn))
    claim_rows = []
    for c, n in zip(drawn, numbers, strict=True):
        final = c.final
        reserve = ZERO if final is not None else c.report_engine.approved
        claim_rows.append({
            "claim_number": f"CL{n:09d}", "project_id": int(cols["project_id"][c.policy]),
            "policy_id": int(cols["id"][c.policy]), "member_id": int(cols["member_id"][c.policy]),
            "event_type": c.event_type, "event_date": c.event_date, "place": "",
            "description": "", "circumstances": sorted(c.circumstances), "status": c.status,
            "reported_on": c.reported_on, "decision_due_on": due_on(c.reported_on),
            "reported_at": datetime.combine(c.reported_on, time(10), SHANGHAI),
            "reported_by": actor.user_id,
            "outcome": final.outcome if final else None, "decision_round": 1 if final else 0,
            "decided_on": c.decided_on, "approved": final.approved if final else ZERO,
            "paid": final.approved if c.paid_on else ZERO,
            "uncovered_loss": final.uncovered_loss if final else ZERO,
            "case_reserve": reserve, "appeals": 1 if "appeal_on" in c.extra else 0,
            "appeal_reason": "the member asks for the decision to be reviewed"
            if "appeal_on" in c.extra else None,
            "closed_on": (c.paid_on or c.extra.get("answer_on") or c.decided_on)
            if c.status == CLOSED else None,
        })
        if "answer_on" in c.extra:
            claim_rows[-1].update(decision_round=2, decided_on=c.extra["answer_on"])
    ids = []
    for s in range(0, len(claim_rows), CHUNK):
        ids += list(db.scalars(insert(Claim).returning(Claim.id, sort_by_parameter_order=True),
                               claim_rows[s:s + CHUNK]))
    _write_items(db, drawn, ids, claim_rows)
    _write_money(db, drawn, ids, claim_rows, actor=actor, pay_through=pay_through, later=later)
    audit.record_many(db, actor=actor, action="claim.report", entity="claim", rows=[
        (cid, row["project_id"], {"event_type": row["event_type"], "demo": True})
        for cid, row in zip(ids, claim_rows, strict=True)])


def _write_items(db: Session, drawn: list[Drawn], ids: list[int], claim_rows: list[dict]) -> None:
    rows = []
    for c, cid, crow in zip(drawn, ids, claim_rows, strict=True):
        engine = c.final or c.report_engine
        decided = c.final is not None
        for n, (item, kind, d) in enumerate(zip(c.items, c.kinds, engine.items, strict=True)):
            rows.append({
                "claim_id": cid, "project_id": crow["project_id"], "position": n,
                "benefit_id": 0, "benefit_code": item.benefit_code, "kind": kind,
                "claimed_amount": None,
                "disability_grade": item.disability_grade, "invoice_amount": item.invoice_amount,
                "social_insurance_paid": item.social_insurance_paid,
                "other_insurance_paid": ZERO, "has_social_insurance": item.has_social_insurance,
                "hospital_days": item.hospital_days, "symptoms_began_at": item.symptoms_began_at,
                "died_at": item.died_at, "engine_amount": d.approved,
                "engine_reasons": list(d.reasons), "approved": d.approved if decided else ZERO,
                "reasons": list(d.reasons) if decided else [],
                "uncovered_loss": d.uncovered_loss if decided else ZERO,
                "days_paid": d.days_paid if decided else 0})
    _fill_benefit_ids(db, rows, claim_rows, ids)
    for s in range(0, len(rows), CHUNK):
        db.execute(insert(ClaimItem), rows[s:s + CHUNK])


def _fill_benefit_ids(db: Session, rows: list[dict], claim_rows: list[dict],
                      ids: list[int]) -> None:
    """Benefit ids by (product, code): one query for the whole catalogue."""
    product_of_policy = {}
    policy_ids = sorted({r["policy_id"] for r in claim_rows})
    for s in range(0, len(policy_ids), CHUNK):
        product_of_policy.update(db.execute(select(Policy.id, Policy.product_id)
                                            .where(Policy.id.in_(policy_ids[s:s + CHUNK]))).all())
    by_code = {(p, c): b for b, p, c in db.execute(
        select(Benefit.id, Benefit.product_id, Benefit.code))}
    policy_of_claim = {cid: r["policy_id"] for cid, r in zip(ids, claim_rows, strict=True)}
    for r in rows:
        product = product_of_policy[policy_of_claim[r["claim_id"]]]
        r["benefit_id"] = by_code[(product, r["benefit_code"])]


def _write_money(db: Session, drawn: list[Drawn], ids: list[int], claim_rows: list[dict], *,
                 actor: Principal, pay_through: date | None, later: list[tuple]) -> None:
    """Reserve movements, decisions, batches and payments, and the entries they post."""
    moves, decisions, payments = [], [], later[:]
    later.clear()
    for c, cid, row in zip(drawn, ids, claim_rows, strict=True):
        pid = row["project_id"]
        estimate = c.report_engine.approved
        if estimate > 0:
            moves.append({"claim_id": cid, "project_id": pid, "moved_on": c.reported_on,
                          "amount": estimate, "reason": "reported"})
            if c.final is not None:
                moves.append({"claim_id": cid, "project_id": pid, "moved_on": c.decided_on,
                              "amount": -estimate, "reason": "decided"})
        if c.final is None:
            continue
        decisions.append({
            "claim_id": cid, "project_id": pid, "round": 1, "decided_on": c.decided_on,
            "decided_at": datetime.combine(c.decided_on, time(15), SHANGHAI),
            "decided_by": actor.user_id, "outcome": c.final.outcome,
            "engine_outcome": c.final.outcome, "engine_amount": c.final.approved,
            "approved": c.final.approved, "approved_change": c.final.approved,
            "uncovered_loss": c.final.uncovered_loss, "auto": c.extra.get("auto", False),
            "overridden": False,
            "reason": "review found drunk driving" if c.circumstances else ""})
        if "answer_on" in c.extra:
            decisions.append(decisions[-1] | {
                "round": 2, "decided_on": c.extra["answer_on"],
                "decided_at": datetime.combine(c.extra["answer_on"], time(15), SHANGHAI),
                "approved_change": ZERO,
                "reason": "appeal reviewed with the new documents: the decision stands"})
        if c.paid_on is not None:
            payments.append((cid, pid, row["member_id"], c.paid_on, c.final.approved))
    for table, rows in ((CaseReserveMovement, moves), (ClaimDecision, decisions)):
        for s in range(0, len(rows), CHUNK):
            db.execute(insert(table), rows[s:s + CHUNK])
    if pay_through is not None:
        later.extend(p for p in payments if p[3] > pay_through)
        payments = [p for p in payments if p[3] <= pay_through]
    batches = _write_payments(db, payments, actor=actor)
    _post(db, moves, decisions, batches, window=f"{ids[0]}" if ids else "")


def _write_payments(db: Session, payments: list[tuple], *, actor: Principal) -> list[dict]:
    codes = dict(db.execute(select(Project.id, Project.code)).all())
    grouped: dict[tuple[int, date], list[tuple]] = defaultdict(list)
    for p in payments:
        grouped[(p[1], p[3])].append(p)
    batch_rows = [{"batch_key": f"{codes[pid]}:{on:%Y%m%d}:1", "project_id": pid, "paid_on": on,
                   "claims": len(group), "total": sum((g[4] for g in group), ZERO),
                   "created_by": actor.user_id}
                  for (pid, on), group in sorted(grouped.items())]
    if not batch_rows:
        return []
    batch_ids = list(db.scalars(insert(PaymentBatch).returning(
        PaymentBatch.id, sort_by_parameter_order=True), batch_rows))
    rows = [{"claim_id": cid, "project_id": pid, "member_id": mid, "batch_id": bid, "round": 1,
             "amount": amount, "paid_on": on}
            for bid, key in zip(batch_ids, sorted(grouped), strict=True)
            for cid, pid, mid, on, amount in grouped[key]]
    for s in range(0, len(rows), CHUNK):
        db.execute(insert(ClaimPayment), rows[s:s + CHUNK])
    return batch_rows


def _post(db: Session, moves: list[dict], decisions: list[dict], batches: list[dict], *,
          window: str) -> None:
    """One entry per project, day and kind for the claims drawn together (``window``: their
    first claim id, in the keys): the books match the claim rows to the fen."""
    reserve, approved = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    for m in moves:
        reserve[(m["project_id"], m["moved_on"])] += m["amount"]
    for d in decisions:
        approved[(d["project_id"], d["decided_on"])] += d["approved_change"]
    entries = [L.JournalEntry.of(
        project_id=pid, entry_date=on, kind="claim_reserve", memo=f"case reserves on {on}",
        reference="demo", idempotency_key=f"demo-claims:{window}:{pid}:{on}:reserve",
        postings=L.transfer(L.CASE_RESERVE_CHANGE, L.CASE_RESERVE, amount))
        for (pid, on), amount in sorted(reserve.items()) if amount != 0]
    entries += [L.JournalEntry.of(
        project_id=pid, entry_date=on, kind="claim_approved", memo=f"claims decided on {on}",
        reference="demo", idempotency_key=f"demo-claims:{window}:{pid}:{on}:approved",
        postings=L.transfer(L.CLAIMS_PAID_EXPENSE, L.CLAIMS_PAYABLE, amount))
        for (pid, on), amount in sorted(approved.items()) if amount != 0]
    entries += [books.payment_entry(project_id=b["project_id"], batch_key=b["batch_key"],
                                    on=b["paid_on"], total=b["total"], claims=b["claims"])
                for b in batches]
    for s in range(0, len(entries), 500):
        ledger_service.post_many(db, entries[s:s + 500])


def summary(drawn: list[Drawn]) -> dict:
    by_status, by_kind, reasons = defaultdict(int), defaultdict(int), defaultdict(int)
    for c in drawn:
        by_status[c.status] += 1
        by_kind[c.kind] += 1
        for r in (c.final or c.report_engine).reasons:
            reasons[r] += 1
    paid = sum((c.final.approved for c in drawn if c.paid_on), ZERO)
    denied = sum(1 for c in drawn if c.final is not None and c.final.outcome == rules.DENY)
    appealed = sum(1 for c in drawn if "appeal_on" in c.extra)
    return {"claims": len(drawn), "by_status": dict(by_status), "by_kind": dict(by_kind),
            "denied": denied, "appealed": appealed, "reasons": dict(sorted(reasons.items())),
            "paid_total": f"{paid:.2f}"}
