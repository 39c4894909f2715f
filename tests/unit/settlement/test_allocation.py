"""Allocation of the distributable surplus: one uplift rate per close (DOMAIN.md section 3)."""

import doctest
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mutua.errors import ValidationFailed
from mutua.settlement import allocation as A

SHARES = st.tuples(st.integers(0, 100), st.integers(0, 100)).filter(lambda t: sum(t) <= 100).map(
    lambda t: A.Shares(Decimal(t[0]) / 100, Decimal(t[1]) / 100, Decimal(100 - sum(t)) / 100))
LOSSES = hnp.arrays(np.int64, st.integers(0, 30), elements=st.integers(0, 10**8))
SEVENTY_TWENTY_TEN = A.Shares(Decimal("0.7"), Decimal("0.2"), Decimal("0.1"))
HALF = 50_000_000  # the default cap, 0.5, in 1e-8


@st.composite
def bases(draw, max_rows: int = 40) -> A.UpliftBasis:
    """Eligible policies with one to three raised benefits each."""
    policies = draw(st.integers(0, max_rows // 2))
    per = draw(st.integers(1, 3))
    n = policies * per

    def col(lo, hi):
        return draw(hnp.arrays(np.int64, n, elements=st.integers(lo, hi)))

    days = np.repeat(draw(hnp.arrays(np.int64, policies, elements=st.integers(30, 3660))), per)
    coef = np.repeat(draw(hnp.arrays(np.int64, policies, elements=st.sampled_from(
        [10_000, 6_670, 5_000, 3_330, 2_000, 1_250, 800]))), per)
    cap = np.repeat(draw(hnp.arrays(np.int64, policies, elements=st.sampled_from(
        [HALF, 10_000_000, 100_000_000]))), per)
    return A.UpliftBasis(np.repeat(np.arange(policies), per), col(100_00, 10**9),
                         col(1, 2_000_000), coef, days, cap)


def basis_of(sum_insured, rate_units, days, coefficient=None, cap=None) -> A.UpliftBasis:
    n = len(sum_insured)
    return A.UpliftBasis(np.arange(n), np.array(sum_insured), np.array(rate_units),
                         np.array(coefficient or [10_000] * n), np.array(days),
                         np.array(cap or [HALF] * n))


def test_the_doctests_hold():
    from mutua.catalog import domain as catalog_domain
    from mutua.settlement import close, statements

    for module in (A, close, statements, catalog_domain):
        assert doctest.testmod(module).failed == 0, module.__name__


# --- conservation ---------------------------------------------------------------------------

@given(st.integers(0, 10**11), SHARES, LOSSES, bases(), st.integers(0, 10**9))
@settings(max_examples=300, deadline=None)
def test_uplift_carried_aid_and_services_add_up_to_the_distributable_surplus(
        total, shares, losses, basis, carried_in):
    a = A.allocate(total, shares, losses, basis, carried_in=carried_in)
    assert a.total == total  # to the fen
    assert a.uplift == int(a.raised.money.sum()) and a.carried >= 0
    assert (a.aid <= losses).all() and (a.aid >= 0).all()
    assert (a.raised.money >= 0).all() and (a.raised.sum_insured_added >= 0).all()
    if len(basis) == 0:
        assert a.uplift == 0 and a.carried == 0


@given(st.integers(1, 10**10), bases())
@settings(max_examples=300, deadline=None)
def test_every_row_rises_by_the_declared_rate_and_none_by_more(pot, basis):
    raised = A.buy_uplift(pot, basis)
    assert raised.spent <= pot
    units = np.minimum(int(raised.rate * A.RATE_SCALE), basis.cap_units)
    if len(basis):
        # rounded down to the fen: never above u x SI, at most a fen below it
        exact = basis.sum_insured * units
        assert (raised.sum_insured_added * A.RATE_SCALE <= exact).all()
        assert ((raised.sum_insured_added + 1) * A.RATE_SCALE > exact).all()
        assert raised.rate <= Decimal(int(basis.cap_units.max())) / A.RATE_SCALE


# --- the rule that replaced money / (r x t) -------------------------------------------------

def test_a_policy_near_its_end_gets_the_same_rise_as_the_others_not_more():
    """LIVER 2026Q3: policies ending ten days after the uplift took effect got 7,742,562.50
    yuan of extra cover for 16.97 yuan, 19 times the median policy, because money shared by
    earned premium was turned into cover as m / (r x t). Now every eligible policy rises by
    the same rate u and a policy near its end simply costs less."""
    # LIVER-CARE's hospital allowance is not raised (a daily amount); its death benefit
    # is: 20,000 yuan at 0.00008. Three policies with 365, 180 and 30 days left.
    basis = basis_of([2_000_000] * 3, [8_000] * 3, [365, 180, 30])
    raised = A.buy_uplift(1_00, basis)
    # each policy's rise is u x SI to the fen below: the largest rise per yuan is u
    for added, si in zip(raised.sum_insured_added, basis.sum_insured, strict=True):
        assert raised.rate * int(si) - 1 < int(added) <= raised.rate * int(si)
    assert raised.sum_insured_added.tolist() == [793_478] * 3  # 7,934.78 yuan each
    assert raised.money[2] < raised.money[1] < raised.money[0]  # shorter cover costs less
    # u = U / sum(SI x r x t): 1.00 / (20,000 x 0.00008 x (365 + 180 + 30) / 365)
    assert raised.rate == (Decimal("1.00") / (Decimal("1.6") * 575 / 365)).quantize(
        A.RATE_PLACES, rounding="ROUND_DOWN") == Decimal("0.39673913")
    assert not raised.capped and raised.spent <= 1_00


def test_the_rate_is_the_pot_over_the_cost_of_raising_every_policy_fully():
    # 100,000 yuan at 0.0006 for a year costs 60.00 per 100%; 30.00 buys 50% - the cap
    basis = basis_of([10_000_000], [60_000], [365])
    assert A.uplift_rate(30_00, basis) == (Decimal("0.50000000"), True)
    assert A.uplift_rate(6_00, basis) == (Decimal("0.10000000"), False)


def test_the_cap_carries_what_it_leaves_to_the_next_close():
    basis = basis_of([10_000_000], [60_000], [365])
    a = A.allocate(1_000_00, A.Shares(Decimal(1), Decimal(0), Decimal(0)), np.zeros(0), basis)
    assert a.rate == Decimal("0.5") and a.raised.capped
    assert a.raised.sum_insured_added.tolist() == [5_000_000]  # 50,000 yuan more cover
    assert a.uplift == 30_00 and a.carried == 970_00 and a.total == 1_000_00


def test_money_carried_in_is_spent_first_and_what_a_second_close_cannot_spend_goes_out():
    basis = basis_of([10_000_000], [60_000], [365])  # at most 30.00 can be spent
    shares = A.Shares(Decimal("0.5"), Decimal("0.25"), Decimal("0.25"))
    a = A.allocate(100_00, shares, np.array([10_00]), basis, carried_in=80_00)
    # fresh 20.00: 10.00 uplift, 5.00 aid, 5.00 services; the pot is 10 + 80 = 90.00
    assert a.uplift_pot == 90_00 and a.uplift == 30_00
    # of the 80.00 carried in, 30.00 were spent: 50.00 has now failed two closes and goes
    # to aid and services by their shares (aid up to the claimant's loss)
    assert a.carried_overflow == 50_00 and a.carried == 10_00
    assert a.aid.tolist() == [10_00] and a.services == 5_00 + 50_00 - 5_00
    assert a.total == 100_00


def test_with_no_eligible_policy_the_pot_goes_to_services():
    a = A.allocate(1000, SEVENTY_TWENTY_TEN, np.array([], dtype=np.int64), A.UpliftBasis.empty())
    assert (a.uplift, a.services, a.uplift_to_services, a.carried) == (0, 1000, 900, 0)


def test_a_class_six_policy_is_raised_at_its_own_risk_rate():
    """Coefficient 0.125: the same benefit costs 8 times as much per yuan, so the same
    rise of a policy's own (smaller) cover costs the same premium as a class-1 policy's."""
    class1 = basis_of([10_000_000], [6_000], [365], coefficient=[10_000])
    class6 = basis_of([1_250_000], [6_000], [365], coefficient=[1_250])
    assert class6.exposure()[0] == pytest.approx(class1.exposure()[0])
    both = basis_of([10_000_000, 1_250_000], [6_000, 6_000], [365, 365],
                    coefficient=[10_000, 1_250])
    raised = A.buy_uplift(1_20, both)
    assert raised.rate == Decimal("0.1")
    assert raised.sum_insured_added.tolist() == [1_000_000, 125_000]  # both by 10%
    assert raised.money.tolist() == [60, 60]  # at one rate per yuan it would be 60 and 7.5


# --- eligibility and aid ---------------------------------------------------------------------

@given(st.integers(-400, 400), st.integers(0, 800), st.integers(0, 90), st.booleans())
def test_the_columns_and_the_statement_agree_on_who_is_eligible(start, length, min_days,
                                                                 cancelled):
    day = date(2026, 10, 1)
    cover_start = day + timedelta(days=start)
    cover_end = cover_start + timedelta(days=length)
    reason = A.why_not_uplifted(cover_start=cover_start, cover_end=cover_end,
                                cancelled=cancelled, uplift_day=day, min_days=min_days)
    if cover_start <= day <= cover_end:  # in force: the close reads it as a column
        left = (cover_end - day).days + 1
        assert bool(A.eligible(np.array([left]), np.array([min_days]))[0]) == (reason is None)
        assert reason in (None, A.TOO_FEW_DAYS)
    else:
        assert reason in (A.ENDED, A.CANCELLED)


@given(st.integers(0, 10**9), LOSSES)
def test_aid_never_exceeds_uncovered_loss(pot, losses):
    aid = A.aid_for_claimants(pot, losses)
    assert (aid <= losses).all()
    assert int(aid.sum()) == min(pot, int(losses.sum()))


def test_aid_leftover_returns_to_uplift():
    basis = basis_of([10_000_000, 10_000_000], [60_000, 60_000], [365, 365])
    a = A.allocate(10000, SEVENTY_TWENTY_TEN, np.array([300, 200]), basis)
    assert a.aid.tolist() == [300, 200] and a.aid_returned_to_uplift == 1500
    assert a.uplift_pot == 8500 and a.uplift + a.carried == 8500


@pytest.mark.parametrize("u,a,s", [("0.7", "0.2", "0.2"), ("0.5", "0.5", "0.01"),
                                   ("1.1", "-0.1", "0"), ("0.7", "0.3", "0.0001")])
def test_shares_must_add_to_one(u, a, s):
    with pytest.raises(ValidationFailed):
        A.Shares(Decimal(u), Decimal(a), Decimal(s))


def test_rate_units():
    assert A.rate_units(Decimal("0.00006")) == 6000
    with pytest.raises(ValidationFailed):
        A.rate_units(Decimal("0"))
