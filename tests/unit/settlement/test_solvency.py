"""C-ROSS solvency rules (settlement/solvency.py) and the close's solvency gate.

Shape of the rules: 保险公司偿付能力监管规则第1号-第4号 (CBIRC, 2021): comprehensive solvency
ratio = actual capital / minimum capital >= 100%, core ratio = core capital / minimum capital
>= 50%. The worked figures below are computed by hand from those definitions.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mutua.settlement import close, solvency

D = Decimal


def line(premium, reserve, line="accident"):
    return solvency.LineRisk(line, premium=premium, reserve=reserve,
                             premium_factor=D("0.11"), reserve_factor=D("0.13"))


def test_minimum_capital_by_hand():
    # P = 2,000,000 x 0.11 = 220,000; R = 500,000 x 0.13 = 65,000;
    # sqrt(220000^2 + 65000^2 + 2 x 0.5 x 220000 x 65000) = sqrt(66,925,000,000) = 258,698.67
    m = solvency.minimum_capital([line(2_000_000_00, 500_000_00)])
    assert (m.premium_risk, m.reserve_risk, m.total) == (22_000_000, 6_500_000, 25_869_867)


def test_lines_add_without_diversification():
    one = solvency.minimum_capital([line(1_000_00, 100_00)])
    two = solvency.minimum_capital([line(1_000_00, 100_00), line(1_000_00, 100_00, "health")])
    assert two.total == 2 * one.total


def test_ratios_and_thresholds():
    a = solvency.assess(actual=150, core=40, minimum=100)
    assert (a.comprehensive_ratio, a.core_ratio, a.passed) == (D("1.5"), D("0.4"), False)
    assert solvency.assess(actual=100, core=50, minimum=100).passed
    assert solvency.assess(actual=0, core=0, minimum=0).passed  # no risk, nothing to cover


@given(actual=st.integers(-10**9, 10**10), fund=st.integers(0, 10**9),
       borrowed=st.booleans(), minimum=st.integers(0, 10**10))
def test_distributing_the_headroom_keeps_both_ratios_at_their_thresholds(
        actual, fund, borrowed, minimum):
    core, supplementary = solvency.capital_tiers(actual, fund, borrowed=borrowed)
    a = solvency.assess(actual=core + supplementary, core=core, minimum=minimum)
    h = a.headroom
    assert h >= 0
    if a.passed and h:
        after = solvency.assess(actual=a.actual - h, core=a.core - h, minimum=minimum)
        assert after.actual * 100 >= minimum * 100 - 50 and after.core * 2 >= minimum - 1


def _settle(assessment):
    f = close.QuarterFigures(earned_premium=100_00, uplift_premium_earned=0, claims_paid=40_00,
                             case_reserve_change=0, ibnr_change=0, expenses=10_00)
    rules = close.Rules(reserve_target=0, reserve_minimum=0,
                        reserve_contribution_rate=D("0"), solvency=assessment)
    return close.settle(f, close.Position(0, 0, 0), rules)


def test_the_close_holds_surplus_back_while_a_ratio_is_under_its_threshold():
    o = _settle(solvency.assess(actual=60_00, core=60_00, minimum=80_00))
    assert o.surplus == 50_00 and o.distributable == 0 and o.undistributed_after == 50_00
    g = o.gates[-1]
    assert g.name == "c_ross_solvency" and not g.passed
    assert g.reason.startswith("comprehensive solvency ratio 75.00% (at least 100%), core "
                               "75.00% (at least 50%)")


def test_the_close_distributes_no_more_than_the_headroom():
    o = _settle(solvency.assess(actual=100_00, core=100_00, minimum=80_00))
    assert o.distributable == 20_00 and o.undistributed_after == 30_00
    assert o.gates[-1].passed


def test_without_an_assessment_the_close_is_as_before():
    o = _settle(None)
    assert o.distributable == 50_00 and [g.name for g in o.gates] == [
        "start_up_costs", "solvency", "operating_fund"]
