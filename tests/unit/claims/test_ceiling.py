"""The ceiling every approved amount meets, engine or override (issue 14 item 3).

Worked examples against the product terms: JR/T 0083-2013 disability grades pay 100% down to
10% of the disability sum insured in steps of 10% (grade 3 = 80%); a daily allowance pays
days x daily amount up to its day cap; medical pays at most what the member paid after
social and other insurance.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mutua.claims.adjudication import BenefitTerms, ItemFacts, PriorItem, adjudicate
from mutua.claims.ceilings import ceilings, days_bought

from .test_adjudication import claim, item_cases, policies, policy, priors

D = Decimal
EARLIER = date(2026, 2, 1)


def small_disability_policy():
    """The issue's case: a 20,000 yuan disability benefit sharing the death sum."""
    return policy(benefits=(
        BenefitTerms(benefit_id=1, code="DEATH", kind="accidental_death", sum_insured=D("20000")),
        BenefitTerms(benefit_id=2, code="DIS", kind="disability", sum_insured=D("20000"),
                     shares_sum_insured_with="DEATH"),
    ))


def test_a_disability_override_of_fifty_million_is_capped_at_the_grade_share():
    c = claim(ItemFacts(benefit_code="DIS", disability_grade=1))
    assert ceilings(small_disability_policy(), c, [D("50000000")]) == (D("20000.00"),)
    c = claim(ItemFacts(benefit_code="DIS", disability_grade=3))
    assert ceilings(small_disability_policy(), c, [D("0")]) == (D("16000.00"),)


def test_what_was_already_paid_on_the_shared_sum_comes_off():
    prior = [PriorItem(benefit_code="DIS", event_date=EARLIER, approved=D("6000"))]
    c = claim(ItemFacts(benefit_code="DEATH"))
    assert ceilings(small_disability_policy(), c, [D("0")], prior) == (D("14000.00"),)


def test_earlier_items_of_the_claim_spend_the_sum_at_their_approved_amounts():
    c = claim(ItemFacts(benefit_code="DIS", disability_grade=1), ItemFacts(benefit_code="DEATH"))
    # a handler approving 15,000 on the first item leaves 5,000 of the shared 20,000
    assert ceilings(small_disability_policy(), c, [D("15000"), D("0")]) == (
        D("20000.00"), D("5000.00"))


def test_medical_after_offsets_and_within_the_remaining_sum():
    item = ItemFacts(benefit_code="MED", invoice_amount=D("30000"),
                     social_insurance_paid=D("4000"), other_insurance_paid=D("1000"))
    # out of pocket 25,000, but the benefit's sum insured is 20,000 with 2,500 paid
    prior = [PriorItem(benefit_code="MED", event_date=EARLIER, approved=D("2500"),
                       invoice_amount=D("3000"))]
    assert ceilings(policy(), claim(item), [D("0")], prior) == (D("17500.00"),)
    small = ItemFacts(benefit_code="MED", invoice_amount=D("800"), social_insurance_paid=D("300"))
    assert ceilings(policy(), claim(small), [D("0")]) == (D("500.00"),)


def test_daily_allowance_days_left_under_the_cap_times_the_daily_amount():
    prior = [PriorItem(benefit_code="CASH", event_date=EARLIER, approved=D("1250"),
                       days_paid=25)]
    c = claim(ItemFacts(benefit_code="CASH", hospital_days=10))
    assert ceilings(policy(), c, [D("0")], prior) == (D("250.00"),)  # 5 days of 30 left x 50


def test_a_policy_not_in_force_or_a_benefit_it_lacks_pays_nothing():
    c = claim(ItemFacts(benefit_code="DEATH"), event_date=date(2027, 3, 1))
    assert ceilings(policy(), c, [D("1")]) == (D("0"),)
    assert ceilings(policy(status="void"), claim(ItemFacts(benefit_code="DEATH")), [D("1")]) \
        == (D("0"),)
    assert ceilings(policy(), claim(ItemFacts(benefit_code="NOPE")), [D("1")]) == (D("0"),)


def test_an_exclusion_the_engine_applied_does_not_lower_the_ceiling():
    c = claim(ItemFacts(benefit_code="DEATH"), circumstances=frozenset({"drunk_driving"}))
    assert adjudicate(policy(), c).approved == 0
    assert ceilings(policy(), c, [D("0")]) == (D("100000.00"),)


def test_days_bought_by_an_amount():
    assert days_bought(D("3000"), D("50"), 90) == 60
    assert days_bought(D("3001"), D("50"), 90) == 61
    assert days_bought(D("9999"), D("50"), 30) == 30
    assert days_bought(D("0"), D("50"), 30) == 0
    assert days_bought(D("10"), None, 30) == 0


@settings(max_examples=300, deadline=None)
@given(policies(), st.lists(item_cases, min_size=1, max_size=5), priors)
def test_the_engine_never_approves_above_the_ceiling(p, items, prior):
    c = claim(*items)
    decision = adjudicate(p, c, prior)
    approved = [i.approved for i in decision.items]
    for amount, ceiling in zip(approved, ceilings(p, c, approved, prior), strict=True):
        assert 0 <= amount <= ceiling


@settings(max_examples=200, deadline=None)
@given(policies(), st.lists(item_cases, min_size=1, max_size=5), priors)
def test_amounts_at_their_ceilings_never_spend_a_sum_twice(p, items, prior):
    """Approving every item at its ceiling, in order, keeps each benefit within its sum."""
    approved: list[Decimal] = []
    for n in range(len(items)):
        approved.append(ceilings(p, claim(*items[:n + 1]), approved + [D(0)], prior)[n])
    spent = {b.code: sum((x.approved for x in prior if x.benefit_code == b.code), D(0))
             for b in p.benefits}
    for item, amount in zip(items, approved, strict=True):
        spent[item.benefit_code] += amount
    for b in p.benefits:
        before = sum((x.approved for x in prior if x.benefit_code == b.code), D(0))
        if b.sum_insured > 0 and spent[b.code] > before:
            assert spent[b.code] <= max(before, b.sum_insured)
    death = p.benefit("DEATH").sum_insured
    shared_before = sum((x.approved for x in prior if x.benefit_code in ("DEATH", "DIS")), D(0))
    if spent["DEATH"] + spent["DIS"] > shared_before:
        assert spent["DEATH"] + spent["DIS"] <= max(shared_before, death)
