"""Pure enrolment and cancellation rules.

>>> cover_dates(period_cover_start=date(2026, 1, 1), enrolled_on=date(2026, 1, 10), term_days=365)
(datetime.date(2026, 1, 11), datetime.date(2027, 1, 10))
>>> r = refund_on_cancel(premium=Decimal("36.50"), enrolled_on=date(2026, 1, 1),
...     cover_start=date(2026, 1, 2), cover_end=date(2027, 1, 1), cancel_on=date(2026, 3, 2))
>>> r.amount, r.cover_end, r.cooling_off, r.deduction
(Decimal('30.50'), datetime.date(2026, 3, 2), False, Decimal('0.00'))
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from mutua.dates import age_on
from mutua.errors import Problem, Worded
from mutua.money import ZERO, round_fen

COOLING_OFF_DAYS = 15  # 犹豫期: full refund when cancelled within this many days of enrolment


def cover_dates(*, period_cover_start: date, enrolled_on: date, term_days: int) -> tuple[date, date]:
    """Cover starts the later of the period's first day and the day after enrolment."""
    start = max(period_cover_start, enrolled_on + timedelta(days=1))
    return start, start + timedelta(days=term_days - 1)


@dataclass(frozen=True)
class ProductRules:
    code: str
    min_age: int
    max_age: int
    allowed_classes: tuple[int, ...]
    sale_start: date
    sale_end: date


def eligibility_problems(rules: ProductRules, *, birth_date: date, occupation_class: int,
                         cover_start: date, on: date) -> list[Problem]:
    """Why a member may not enrol (empty when they may)."""
    out = []
    if not rules.sale_start <= on <= rules.sale_end:
        out.append(Problem("period", "is not open for sale on %(day)s (open %(start)s to "
                                     "%(end)s)", day=on, start=rules.sale_start, end=rules.sale_end))
    age = age_on(birth_date, cover_start)
    if not rules.min_age <= age <= rules.max_age:
        out.append(Problem("age", "is %(age)s at cover start; %(product)s covers ages "
                                  "%(low)s to %(high)s",
                                  age=age, product=rules.code, low=rules.min_age, high=rules.max_age))
    if occupation_class not in rules.allowed_classes:
        out.append(Problem("occupation_class", "class %(cls)s is not covered by %(product)s",
                           cls=occupation_class, product=rules.code))
    return out


@dataclass(frozen=True)
class KidneyLabs:
    """What kidney underwriting (核保) reads of an applicant's own recent labs: the GFR
    category of the latest creatinine and the albuminuria category of the latest urine ACR
    no older than ``max_age_days``; None where there is no such result on file."""

    g: str | None = None
    egfr: float | None = None
    tested: date | None = None
    a: str | None = None
    max_age_days: int = 90


def kidney_problems(underwriting: dict, labs: KidneyLabs) -> list[Problem]:
    """Why a kidney product's underwriting refuses an applicant with these labs (empty when
    it accepts). ``underwriting`` is the product's: ``stages`` (GFR categories covered),
    ``needs_acr`` and ``albuminuria`` (A categories required).

    >>> uw = {"stages": ["G1", "G2"], "needs_acr": True, "albuminuria": ["A2", "A3"]}
    >>> kidney_problems(uw, KidneyLabs())[0].rule
    'needs a creatinine result from the last 90 days; none on file'
    >>> kidney_problems(uw, KidneyLabs("G2", 75.0, date(2026, 1, 5)))[0].rule
    'needs a urine ACR result from the last 90 days; none on file'
    >>> kidney_problems(uw, KidneyLabs("G2", 75.0, date(2026, 1, 5), "A2"))
    []
    >>> kidney_problems({"stages": ["G4"]}, KidneyLabs("G3a", 52.0, date(2026, 1, 5)))[0].rule
    'stage G3a (eGFR 52.0 on 2026-01-05) is not covered: this product covers G4'
    """
    uw, days = underwriting or {}, labs.max_age_days
    if labs.g is None:
        return [Problem("labs", "needs a creatinine result from the last %(days)s days; none "
                                "on file", days=days)]
    if uw.get("needs_acr") or uw.get("albuminuria"):
        if labs.a is None:
            return [Problem("labs", "needs a urine ACR result from the last %(days)s days; "
                                    "none on file", days=days)]
        if uw.get("albuminuria") and labs.a not in uw["albuminuria"]:
            return [Problem("labs", "stage %(stage)s is not covered: this product needs "
                                    "albuminuria %(albuminuria)s",
                                    stage=f"{labs.g}/{labs.a}", albuminuria='/'.join(uw['albuminuria']))]
    stages = uw.get("stages") or []
    if stages and labs.g not in stages:
        return [Problem("labs", "stage %(stage)s (eGFR %(egfr)s on %(day)s) is not covered: "
                                "this product covers %(stages)s",
                                stage=labs.g, egfr=f"{labs.egfr:.1f}", day=labs.tested,
                                stages=", ".join(stages))]
    return []


def needs_lab_result(problems: Iterable[Problem]) -> bool:
    """The refusal is only a missing lab result: the member may buy once one is on file.

    >>> needs_lab_result(kidney_problems({}, KidneyLabs()))
    True
    """
    problems = list(problems)
    return bool(problems) and all(p.field == "labs" and p.rule.endswith("none on file")
                                  for p in problems)


# --- the health declaration (健康告知) -----------------------------------------------------
# A product may ask questions before it is bought: underwriting["declaration"], a list of
# {"code", "zh", "en", "refuse_on"} where refuse_on is "yes" (a declined risk: that answer
# refuses the enrolment), "no" (the product is for those who answer yes) or null (asked
# and kept with the policy only). The answers are stored with the policy.

MAX_DECLARATION_QUESTIONS = 10
ANSWERS = ("yes", "no")


def declaration_problems(questions: list[dict], answers: dict[str, str]) -> list[Problem]:
    """Why these answers to a product's declaration refuse the enrolment (empty if none).

    >>> qs = [{"code": "dialysis_soon", "zh": "...", "en": "...", "refuse_on": "yes"}]
    >>> declaration_problems(qs, {"dialysis_soon": "no"})
    []
    >>> declaration_problems(qs, {})[0]
    Problem(field='declaration.dialysis_soon', rule='is required: answer yes or no')
    >>> declaration_problems(qs, {"dialysis_soon": "yes"})[0].rule
    'answered yes: this product does not cover that risk, so it cannot be bought'
    >>> declaration_problems(qs, {"dialysis_soon": "no", "other": "no"})[0].field
    'declaration.other'
    """
    asked = {q["code"] for q in questions}
    out = [Problem(f"declaration.{code}", "is not a question of this product")
           for code in answers if code not in asked]
    for q in questions:
        answer = answers.get(q["code"])
        field = f"declaration.{q['code']}"
        if answer is None or answer == "":
            out.append(Problem(field, "is required: answer yes or no"))
        elif answer not in ANSWERS:
            out.append(Problem(field, "must be yes or no"))
        elif answer == q.get("refuse_on"):
            out.append(Problem(field, "answered %(answer)s: this product does not cover that "
                                      "risk, so it cannot be bought", answer=answer))
    return out


def clean_declaration(questions: list[dict]) -> dict[str, str]:
    """The answers of an applicant with none of the declared risks (demo data, tests).

    >>> clean_declaration([{"code": "a", "refuse_on": "yes"}, {"code": "b", "refuse_on": "no"}])
    {'a': 'no', 'b': 'yes'}
    """
    return {q["code"]: "yes" if q.get("refuse_on") == "no" else "no" for q in questions}


def declaration_record(questions: list[dict], answers: dict[str, str]) -> list[dict]:
    """The declaration as kept with the policy: each question as it was asked, and the
    answer (so a later change of the questions does not change what was declared).

    >>> declaration_record([{"code": "q", "zh": "问", "en": "Q?", "refuse_on": "yes"}],
    ...                    {"q": "no"})
    [{'code': 'q', 'zh': '问', 'en': 'Q?', 'answer': 'no'}]
    """
    return [{"code": q["code"], "zh": q["zh"], "en": q["en"], "answer": answers[q["code"]]}
            for q in questions]


@dataclass(frozen=True)
class Refund:
    amount: Decimal
    cover_end: date  # the new last day of cover
    cooling_off: bool
    deduction: Decimal = ZERO  # kept from the unearned premium under the product's terms


def cancellation_deduction(unearned: Decimal, *, fee: Decimal, fee_rate: Decimal) -> Decimal:
    """What the product's terms keep of an unearned premium refunded after the cooling-off
    period: a fixed fee plus a share of the unearned premium, never more than it.

    >>> cancellation_deduction(Decimal("30.50"), fee=Decimal("5"), fee_rate=Decimal("0.1"))
    Decimal('8.05')
    >>> cancellation_deduction(Decimal("3.00"), fee=Decimal("5"), fee_rate=Decimal("0"))
    Decimal('3.00')
    """
    return min(unearned, round_fen(fee + unearned * fee_rate))


def refund_on_cancel(*, premium: Decimal, enrolled_on: date, cover_start: date, cover_end: date,
                     cancel_on: date, fee: Decimal = ZERO, fee_rate: Decimal = ZERO) -> Refund:
    """Full refund inside the cooling-off period; otherwise the unearned premium (1/365 daily)
    less what the product's terms deduct (:func:`cancellation_deduction`).

    Cover ends on the cancellation day; the days covered are earned, the rest refunded.
    """
    if cancel_on < enrolled_on + timedelta(days=COOLING_OFF_DAYS) or cancel_on < cover_start:
        return Refund(premium, cover_start - timedelta(days=1), cooling_off=True)
    term = (cover_end - cover_start).days + 1
    covered = min(term, (cancel_on - cover_start).days + 1)
    unearned = max(ZERO, premium - round_fen(premium * covered / term))
    deduction = cancellation_deduction(unearned, fee=fee, fee_rate=fee_rate)
    return Refund(unearned - deduction, min(cancel_on, cover_end), cooling_off=False,
                  deduction=deduction)


@dataclass(frozen=True)
class BenefitCover:
    """A benefit as it stands on a date: its sum insured includes uplifts in effect by then."""

    benefit_id: int
    code: str
    kind: str
    sum_insured: Decimal
    base_sum_insured: Decimal
    uplift: Decimal
    deductible: Decimal
    coinsurance_with_social: Decimal | None
    coinsurance_without_social: Decimal | None
    daily_amount: Decimal | None
    max_days: int | None
    shares_sum_insured_with: str | None
    waiting_days: int


@dataclass(frozen=True)
class PolicyCover:
    policy_id: int
    policy_number: str
    project_id: int
    member_id: int
    product_code: str
    line: str
    status: str
    enrolled_on: date
    cover_start: date
    cover_end: date
    occupation_class: int
    allowed_classes: tuple[int, ...]
    exclusions: tuple[str, ...]
    coefficient: Decimal
    benefits: tuple[BenefitCover, ...]

    def in_force_on(self, on: date) -> bool:
        return self.cover_start <= on <= self.cover_end

    def benefit(self, code: str) -> BenefitCover | None:
        return next((b for b in self.benefits if b.code == code), None)


def scaled_sum_insured(base: Decimal, coefficient: Decimal) -> Decimal:
    return round_fen(base * coefficient)


def uplift_in_effect(uplifts: Iterable[tuple[int, date, Decimal]], on: date,
                     ) -> defaultdict[int, Decimal]:
    """Sum insured added to each benefit (by id) by the uplifts (benefit id, effective from,
    sum insured added) in effect on ``on``; zero for a benefit with none."""
    added: defaultdict[int, Decimal] = defaultdict(lambda: ZERO)
    for benefit_id, effective_from, amount in uplifts:
        if effective_from <= on:
            added[benefit_id] += amount
    return added


def sums_insured(base_sum_insured: Decimal, coefficient: Decimal, uplift: Decimal,
                 ) -> tuple[Decimal, Decimal]:
    """A benefit's base scaled by the member's coefficient, and that plus its uplift."""
    base = scaled_sum_insured(base_sum_insured, coefficient)
    return base, round_fen(base + uplift)


def returned_uplift(money: int, effective_from: date, cover_end: date, cancelled_end: date
                    ) -> int:
    """Unearned uplift premium (fen) a cancelled policy returns to the pool: the uplift's
    money less what it earned, daily pro rata, from its first day to the new cover end,
    computed as the close computes earned premium (figures._cum_earned).

    An uplift of 36.50 from 2026-10-01 on cover ending 2027-09-30 (365 days), cancelled so
    cover ends 2026-12-31 (92 days): earned 9.20, returned 27.30.

    >>> returned_uplift(3650, date(2026, 10, 1), date(2027, 9, 30), date(2026, 12, 31))
    2730
    >>> returned_uplift(3650, date(2026, 10, 1), date(2027, 9, 30), date(2026, 9, 20))
    3650
    """
    span = (cover_end - effective_from).days + 1
    elapsed = (cancelled_end - effective_from).days + 1
    if span <= 0 or elapsed >= span:
        return 0
    if elapsed <= 0:
        return money
    earned = (2 * money * elapsed + span) // (2 * span)
    return money - earned


# --- the premium cycle: dues, grace, lapse ---------------------------------------------------
# A policy whose premium was not paid at enrolment is written "unpaid" with no cover (its
# cover_end the day before its cover_start); the cover it will have is kept on its premium
# due. Paid by the grace end, it covers from the planned start; unpaid past it, it lapses
# and never covered anything. "In force and paid" is then only the status and the dates.

UNPAID, IN_FORCE, CANCELLED, LAPSED = "unpaid", "in_force", "cancelled", "lapsed"


def grace_end(enrolled_on: date, grace_days: int) -> date:
    """Last day a premium due may be paid and still buy cover from the planned start.

    >>> grace_end(date(2026, 1, 10), 30)
    datetime.date(2026, 2, 9)
    """
    return enrolled_on + timedelta(days=grace_days)


def no_cover(cover_start: date) -> tuple[date, date]:
    """The stored cover of a policy that covers nothing (unpaid, lapsed): it ends the day
    before it starts, so every read of cover dates (earned premium, in force on a day)
    leaves it out.

    >>> no_cover(date(2026, 2, 1))
    (datetime.date(2026, 2, 1), datetime.date(2026, 1, 31))
    """
    return cover_start, cover_start - timedelta(days=1)


def in_force_and_paid(status: str, cover_start: date, cover_end: date, on: date) -> bool:
    """The one rule of which policies cover a day: in force (so paid) and ``on`` within the
    dates. ``policies.service.in_force_and_paid_on`` is the same rule in SQL.

    >>> in_force_and_paid("in_force", date(2026, 1, 1), date(2026, 12, 31), date(2026, 5, 1))
    True
    >>> in_force_and_paid("unpaid", date(2026, 1, 1), date(2025, 12, 31), date(2026, 5, 1))
    False
    """
    return status == IN_FORCE and cover_start <= on <= cover_end


PREMIUM_UNPAID = Worded("premium unpaid: the policy covers nothing until its premium is paid")
LAPSED_UNPAID = Worded("lapsed unpaid: the premium was not paid within the grace period, so "
                       "the policy never covered a claim")


def claim_cover_problem(status: str) -> Problem | None:
    """Why a claim on a policy in this state is refused before its dates are looked at."""
    if status == UNPAID:
        return Problem("policy_id", PREMIUM_UNPAID)
    if status == LAPSED:
        return Problem("policy_id", LAPSED_UNPAID)
    return None


# How a payment meets its due (a collection file's line, a provider's callback).
EXACT, PARTIAL, OVER, DUPLICATE, LATE = "exact", "partial", "over", "duplicate", "late"


def payment_verdict(*, due_state: str, owed: Decimal, amount: Decimal, paid_on: date,
                    grace_end: date) -> str:
    """Whether a payment of ``amount`` on ``paid_on`` settles a due still owing ``owed``.

    Only an exact payment in time posts by itself; the rest go to the reconciliation queue.

    >>> payment_verdict(due_state="open", owed=Decimal("80"), amount=Decimal("80"),
    ...                 paid_on=date(2026, 1, 5), grace_end=date(2026, 1, 31))
    'exact'
    >>> payment_verdict(due_state="open", owed=Decimal("80"), amount=Decimal("50"),
    ...                 paid_on=date(2026, 1, 5), grace_end=date(2026, 1, 31))
    'partial'
    >>> payment_verdict(due_state="paid", owed=Decimal("0"), amount=Decimal("80"),
    ...                 paid_on=date(2026, 1, 5), grace_end=date(2026, 1, 31))
    'duplicate'
    >>> payment_verdict(due_state="open", owed=Decimal("80"), amount=Decimal("80"),
    ...                 paid_on=date(2026, 2, 1), grace_end=date(2026, 1, 31))
    'late'
    """
    if due_state == "paid":
        return DUPLICATE
    if due_state != "open" or paid_on > grace_end:
        return LATE
    if amount == owed:
        return EXACT
    return PARTIAL if amount < owed else OVER
