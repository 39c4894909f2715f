"""The ceiling (理赔上限): the most any decision may approve on a claim's item, the engine's
amount or a handler's override, from the same policy terms and claim facts as
:mod:`mutua.claims.adjudication`. Pure: nothing here touches a database."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal

from mutua.catalog.benefit_kinds import DAILY_KINDS
from mutua.claims.adjudication import (
    DISABILITY_KINDS,
    MEDICAL_KINDS,
    VOID_STATUSES,
    BenefitTerms,
    ClaimFacts,
    ItemFacts,
    PaidSoFar,
    PolicyTerms,
    PriorItem,
    disability_share,
    limits,
)
from mutua.money import ZERO, round_fen


def ceilings(policy: PolicyTerms, claim: ClaimFacts, approved: Sequence[Decimal],
             prior: Iterable[PriorItem] = ()) -> tuple[Decimal, ...]:
    """The most each item may be approved at, by the engine or by a handler's override.

    An item can never be paid more than its benefit can still pay on this policy in this
    term: the sum insured (uplifts included) less what was already paid or approved on it
    (and on the benefits that share its sum), and within the benefit's own kind of limit:
    a disability grade's share, payable days x the daily amount, a medical bill after what
    social and other insurance paid. Items are taken in order, each one after the amounts
    ``approved`` on the claim's earlier items. A policy not in force on the event date
    pays nothing. Eligibility (exclusions, waiting periods) is the engine's judgement, which
    a handler may overrule with a reason; the ceiling is not.

    >>> from datetime import date
    >>> policy = PolicyTerms(policy_id=1, status="in_force", cover_start=date(2026, 1, 1),
    ...     cover_end=date(2026, 12, 31), occupation_class=5, benefits=(
    ...     BenefitTerms(benefit_id=1, code="DEATH", kind="accidental_death",
    ...                  sum_insured=Decimal("20000")),
    ...     BenefitTerms(benefit_id=2, code="DIS", kind="disability",
    ...                  sum_insured=Decimal("20000"), shares_sum_insured_with="DEATH"),))
    >>> claim = ClaimFacts(event_date=date(2026, 3, 1), event_type="accident",
    ...     items=(ItemFacts(benefit_code="DIS", disability_grade=3),))
    >>> ceilings(policy, claim, [Decimal("50000000")])  # grade 3 pays 80% of 20,000
    (Decimal('16000.00'),)
    >>> earlier = PriorItem(benefit_code="DEATH", event_date=date(2026, 2, 1),
    ...                     approved=Decimal("10000"))
    >>> ceilings(policy, claim, [Decimal("0")], [earlier])  # the shared sum has 10,000 left
    (Decimal('10000.00'),)
    """
    paid = PaidSoFar(list(prior))
    in_force = (policy.status not in VOID_STATUSES
                and policy.cover_start <= claim.event_date <= policy.cover_end)
    out = []
    for item, amount in zip(claim.items, approved, strict=True):
        benefit = policy.benefit(item.benefit_code)
        ceiling = _item_ceiling(policy, benefit, item, paid) if in_force and benefit else ZERO
        out.append(round_fen(ceiling))
        if benefit is not None:
            paid.add(PriorItem(
                benefit_code=item.benefit_code, event_date=claim.event_date, approved=amount,
                days_paid=days_bought(amount, benefit.daily_amount,
                                      _payable_days(benefit, item, paid)),
                invoice_amount=item.invoice_amount, disability_grade=item.disability_grade,
                hospital_days=item.hospital_days))
    return tuple(out)


def _item_ceiling(policy: PolicyTerms, benefit: BenefitTerms, item: ItemFacts,
                  paid: PaidSoFar) -> Decimal:
    own, pool = limits(policy, benefit, paid)
    remaining = min(own, pool)
    if benefit.kind in MEDICAL_KINDS:
        return min(remaining, _out_of_pocket(item))
    if benefit.kind in DISABILITY_KINDS:
        grade = item.disability_grade or 10
        return min(remaining, round_fen(benefit.sum_insured * disability_share(grade)))
    if benefit.kind in DAILY_KINDS:
        days = round_fen((benefit.daily_amount or ZERO) * _payable_days(benefit, item, paid))
        # a daily benefit with no sum insured of its own is limited by its days only
        return min(remaining, days) if benefit.sum_insured > 0 else days
    return remaining


def _out_of_pocket(item: ItemFacts) -> Decimal:
    invoice = item.invoice_amount or ZERO
    return max(ZERO, invoice - item.social_insurance_paid - item.other_insurance_paid)


def _payable_days(benefit: BenefitTerms, item: ItemFacts, paid: PaidSoFar) -> int:
    """The item's days in hospital that the benefit's day cap still leaves."""
    days = item.hospital_days or 0
    if benefit.max_days is None:
        return days
    return min(days, max(0, benefit.max_days - paid.days_on(benefit.code)))


def days_bought(amount: Decimal, daily_amount: Decimal | None, payable_days: int) -> int:
    """The days of a daily allowance an approved amount pays for (part days count whole).

    >>> days_bought(Decimal("3000"), Decimal("50"), 90), days_bought(Decimal("75"), Decimal("50"), 90)
    (60, 2)
    """
    if amount <= 0 or not daily_amount:
        return 0
    return min(payable_days, math.ceil(amount / daily_amount))
