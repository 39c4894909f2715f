"""IBNR on a filed reporting pattern blended by credibility, and the premium deficiency
rules: worked examples (the docstrings) and properties that hold for any input."""

from __future__ import annotations

import doctest
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mutua.actuarial import patterns as P
from mutua.policies import domain as policies_domain
from mutua.settlement import reserving

D = Decimal


def test_the_worked_examples_hold():
    for module in (P, reserving, policies_domain):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_the_issue_figure_for_child_2026q3():
    # Issue 21: 15% unreported at quarter end on CHILD 2026Q3's earned premium of 6,974.40
    # (its expense cap of 1,046.16 is 15% of it) at the a priori 0.55 gives about 575 yuan.
    assert P.bf_ibnr([697_440], D("0.55"), [D("0.15"), D("0")]) == 57_539


def test_credibility_follows_the_square_root_rule():
    # Mahler and Dean, "Credibility" (Foundations of CAS, ch. 8): full credibility at 1,082
    # claims (P = 90%, k = 5%), partial Z = sqrt(n / 1082); 271 claims give about a half.
    assert P.credibility(0) == 0
    assert P.credibility(271) == D("0.500462")
    assert P.credibility(1082) == 1 and P.credibility(10_000) == 1


def test_young_or_thin_pools_use_the_filed_pattern():
    filed = [D("0.15"), D("0.04"), D("0.01"), D("0")]
    thin = P.choose_basis(filed=filed, link_ratios=[2.0, 1.5, 1.0], development_quarters=4,
                          claims=29, project_method="bf")
    assert (thin.method, thin.credibility, thin.pattern) == ("bf_filed", 0, filed)
    assert thin.reason == "the pool has 29 claims (needs 30)"
    mature = P.choose_basis(filed=filed, link_ratios=[2.0, 1.5, 1.0], development_quarters=4,
                            claims=1082, project_method="chainladder")
    # the pool's own: CDF 3, 1.5, 1 -> 2/3, 1/3, 0 unreported
    assert mature.method == "chainladder" and mature.credibility == 1
    assert mature.pattern == [D("0.666667"), D("0.333333"), D("0"), D("0")]


shares = st.lists(st.decimals(0, 1, places=4), min_size=1, max_size=12)


def non_increasing(xs: list[Decimal]) -> list[Decimal]:
    return sorted(xs, reverse=True)[:-1] + [D(0)] if len(xs) > 1 else [D(0)]


@given(shares)
def test_a_filed_pattern_is_accepted_exactly_when_it_keeps_the_rules(xs):
    ok = (xs[-1] == 0 and all(b <= a for a, b in zip(xs, xs[1:], strict=False)))
    assert (P.check_pattern(xs) == []) == ok
    assert P.check_pattern(non_increasing(xs)) == []


@given(shares, shares, st.decimals(0, 1, places=6))
def test_a_blend_of_two_patterns_is_a_pattern_between_them(a, b, z):
    a, b = non_increasing(a), non_increasing(b)
    blended = P.blend(a, b, z)
    assert P.check_pattern(blended) == []
    for k, s in enumerate(blended):
        lo, hi = sorted((P.unreported(a, k), P.unreported(b, k)))
        assert lo - D("0.000001") <= s <= hi + D("0.000001")


@given(st.lists(st.floats(0.5, 3.0), max_size=10))
def test_the_pools_own_pattern_is_a_share_and_ends_at_zero(links):
    own = P.own_pattern(links)
    assert len(own) == len(links) + 1 and own[-1] == 0
    assert all(0 <= s <= 1 for s in own)


@given(st.lists(st.integers(0, 10**10), max_size=8), st.decimals(0, 2, places=4), shares)
@settings(max_examples=200)
def test_bf_ibnr_is_never_negative_and_adds_up_by_origin(premiums, ratio, xs):
    pattern = non_increasing(xs)
    total = P.bf_ibnr(premiums, ratio, pattern)
    exact = sum(D(p) * ratio * P.unreported(pattern, k) for k, p in enumerate(premiums))
    assert total >= 0 and abs(total - exact) <= D("0.5")


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9))
def test_the_deficiency_is_exactly_the_shortfall(upr, claims, costs):
    held = reserving.premium_deficiency(unearned_premium=upr, expected_claims=claims,
                                        expected_costs=costs)
    assert held >= 0 and held == max(0, claims + costs - upr)
    assert upr + held >= claims + costs


@given(st.integers(1, 10**7), st.integers(1, 3650), st.integers(-30, 4000))
def test_earned_plus_returned_uplift_is_the_uplift(money, term, kept):
    start = date(2026, 10, 1)
    end = start + timedelta(days=term - 1)
    returned = policies_domain.returned_uplift(money, start, end, start + timedelta(days=kept))
    assert 0 <= returned <= money
    if kept >= term - 1:
        assert returned == 0
    if kept < 0:
        assert returned == money
