"""Costs by category against the loading cap (settlement/expenses.py)."""

from __future__ import annotations

import doctest
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutua.settlement import expenses


def test_costs_under_the_cap_are_charged_as_recorded():
    c = expenses.charge(cap=1_046_16, actual={"systems": 200_00, "staff": 500_00,
                                              "member_services": 100_00})
    assert [x.category for x in c.lines] == ["staff", "systems", "member_services"]
    assert c.charged == c.actual == 800_00 and c.over_cap == 0


def test_costs_above_the_cap_are_scaled_to_it_and_the_rest_is_the_operators():
    # CHILD 2026Q3 in the issue: a cap of 1,046.16 (15% of earned premium)
    c = expenses.charge(cap=1_046_16, actual={"staff": 900_00, "systems": 300_00,
                                              "claims_handling": 100_00})
    assert c.charged == 1_046_16
    assert c.over_cap == 1_300_00 - 1_046_16
    assert [x.charged for x in c.lines] == [72_427, 24_142, 8_047]


def test_negative_costs_are_refused():
    with pytest.raises(ValueError):
        expenses.charge(cap=100, actual={"staff": -1})


@given(cap=st.integers(0, 10**10),
       actual=st.dictionaries(st.sampled_from(expenses.CATEGORIES), st.integers(0, 10**10)))
def test_charged_is_the_lesser_of_costs_and_cap_and_no_category_above_its_cost(cap, actual):
    c = expenses.charge(cap=cap, actual=actual)
    assert c.charged == min(c.actual, cap)
    assert all(0 <= x.charged <= x.actual for x in c.lines)
    assert c.over_cap == c.actual - c.charged


def test_the_cap_is_each_products_earned_premium_times_its_loading():
    # 15% of 6,974.40 earned is a cap of 1,046.16
    assert expenses.cap({7: 6_974_40}, {7: Decimal("0.15")}) == 1_046_16
    # a product with no loading, or that earned less than nothing, adds nothing
    assert expenses.cap({7: 6_974_40, 8: 100_00, 9: -50_00},
                        {7: Decimal("0.15"), 9: Decimal("0.2")}) == 1_046_16


def test_with_no_costs_recorded_the_configured_share_of_the_cap_is_assumed():
    assert expenses.assumed(1_046_16, Decimal("1")) == {expenses.ASSUMED: 1_046_16}
    assert expenses.assumed(1_046_16, Decimal("0.5")) == {expenses.ASSUMED: 523_08}
    assert expenses.charge(cap=1_046_16, actual=expenses.assumed(1_046_16, Decimal("0.5"))
                           ).charged == 523_08


def test_the_doctests_hold():
    assert doctest.testmod(expenses).failed == 0
