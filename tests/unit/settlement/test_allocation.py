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
WEIGHTS = hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(0, 10**7))
LOSSES = hnp.arrays(np.int64, st.integers(0, 30), elements=st.integers(0, 10**8))


@given(st.integers(0, 10**11), SHARES, WEIGHTS, LOSSES)
@settings(max_examples=300)
def test_parts_add_up_to_the_distributable_surplus(total, shares, weights, losses):
    a = A.allocate(total, shares, weights, losses)
    assert a.total == total
    assert int(a.uplift_shares.sum()) == a.uplift
    assert (a.aid <= losses).all() and (a.aid >= 0).all()
    assert (a.uplift_shares >= 0).all()
    if weights.sum() == 0:
        assert a.uplift == 0


@given(st.integers(0, 10**9), LOSSES)
def test_aid_never_exceeds_uncovered_loss(pot, losses):
    aid = A.aid_for_claimants(pot, losses)
    assert (aid <= losses).all()
    assert int(aid.sum()) == min(pot, int(losses.sum()))


def test_aid_leftover_returns_to_uplift():
    a = A.allocate(10000, A.Shares(Decimal("0.7"), Decimal("0.2"), Decimal("0.1")),
                   np.array([1, 1]), np.array([300, 200]))
    assert a.aid.tolist() == [300, 200] and a.aid_returned_to_uplift == 1500
    assert a.uplift == 8500 and a.uplift_shares.tolist() == [4250, 4250]


def test_no_policy_to_uplift_sends_the_pot_to_services():
    a = A.allocate(1000, A.Shares(Decimal("0.7"), Decimal("0.2"), Decimal("0.1")),
                   np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert (a.uplift, a.services, a.uplift_to_services) == (0, 1000, 900)


@pytest.mark.parametrize("u,a,s", [("0.7", "0.2", "0.2"), ("0.5", "0.5", "0.01"),
                                   ("1.1", "-0.1", "0"), ("0.7", "0.3", "0.0001")])
def test_shares_must_add_to_one(u, a, s):
    with pytest.raises(ValidationFailed):
        A.Shares(Decimal(u), Decimal(a), Decimal(s))


@given(hnp.arrays(np.int64, st.integers(1, 50), elements=st.integers(0, 10**9)),
       st.lists(st.integers(1, 10**6), min_size=1, max_size=5))
def test_benefit_split_adds_up_per_policy(shares, w):
    money = A.split_over_benefits(shares, np.array(w))
    assert (money.sum(axis=1) == shares).all() and (money >= 0).all()


def test_benefit_weights_give_the_same_relative_uplift():
    # death 100,000 at 0.00006, medical 10,000 at 0.0012: costs 6 and 12 per year
    w = A.benefit_weights([10_000_000, 1_000_000], [Decimal("0.00006"), Decimal("0.0012")])
    assert w.tolist() == [333333, 666667]
    money = A.split_over_benefits(np.array([3000]), w)[0]  # 30.00 yuan
    si = [int(A.sum_insured_added(np.array([m]), A.rate_units(r), np.array([365]))[0])
          for m, r in zip(money, [Decimal("0.00006"), Decimal("0.0012")], strict=True)]
    # 10.00 / 0.00006 = 166,666.67 yuan of death cover; 20.00 / 0.0012 = 16,666.67 medical
    assert si == [16666667, 1666667]
    assert si[0] / 10_000_000 == pytest.approx(si[1] / 1_000_000, rel=1e-6)


def test_sum_insured_added_formula():
    # delta = m / (r x t): 12.00 yuan at rate 0.0012 with 146 of 365 days left (t = 0.4)
    # buys 12 / (0.0012 x 0.4) = 25,000.00 yuan of sum insured
    out = A.sum_insured_added(np.array([1200]), A.rate_units(Decimal("0.0012")), np.array([146]))
    assert int(out[0]) == 2_500_000
    assert A.rate_units(Decimal("0.00006")) == 6000
    with pytest.raises(ValidationFailed):
        A.rate_units(Decimal("0"))
