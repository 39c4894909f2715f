"""Excess-of-loss layer maths (reinsurance/treaty.py).

Worked example: Swiss Re, "An introduction to reinsurance" (excess of loss): a layer of
limit xs retention pays min(max(X - retention, 0), limit); Klugman, Panjer and Willmot,
Loss Models, 5th ed., section 8.2 (the layer as the difference of two limited losses,
min(X, retention + limit) - min(X, retention)).
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mutua.reinsurance import treaty as t

TERMS = t.Terms(retention=1_000_000_00, limit=4_000_000_00, reinstatements=2,
                reinstatement_rate=Decimal("0.04"))


def test_layer_is_the_difference_of_two_limited_losses():
    for loss in (0, 999_999_00, 1_000_000_00, 3_500_000_00, 5_000_000_00, 9_000_000_00):
        limited = lambda u, x=loss: min(x, u)  # noqa: E731
        assert t.layer(loss, TERMS) == limited(5_000_000_00) - limited(1_000_000_00)


def test_a_bus_crash_of_six_million_recovers_the_limit_and_pays_for_its_reinstatement():
    m = t.movement(loss=6_000_000_00, booked_for_loss=0, booked_on_treaty=0, terms=TERMS)
    assert m.amount == 4_000_000_00
    assert m.reinstatement_premium == 160_000_00  # 4% of the 4,000,000 reinstated


def test_a_lower_decision_gives_back_what_was_booked_above_the_new_layer():
    m = t.movement(loss=2_000_000_00, booked_for_loss=4_000_000_00,
                   booked_on_treaty=4_000_000_00, terms=TERMS)
    assert m.amount == -3_000_000_00
    assert m.reinstatement_premium == -120_000_00


def test_ceded_premium_for_part_of_a_quarter():
    assert t.ceded_premium(earned=90_000_00, rate=Decimal("0.02"), covered_days=30,
                           quarter_days=90) == 600_00
    assert t.ceded_premium(earned=-5, rate=Decimal("0.02"), covered_days=30,
                           quarter_days=90) == 0


@given(losses=st.lists(st.integers(0, 10**10), max_size=12),
       retention=st.integers(1, 10**9), limit=st.integers(1, 10**9),
       reinstatements=st.integers(0, 3))
def test_recoveries_never_exceed_a_loss_above_retention_nor_the_aggregate(
        losses, retention, limit, reinstatements):
    terms = t.Terms(retention=retention, limit=limit, reinstatements=reinstatements,
                    reinstatement_rate=Decimal("0.05"))
    total = premium = 0
    for loss in losses:
        m = t.movement(loss=loss, booked_for_loss=0, booked_on_treaty=total, terms=terms)
        assert 0 <= m.amount <= max(loss - retention, 0)
        total += m.amount
        premium += m.reinstatement_premium
    assert total <= terms.aggregate_limit
    assert premium == t.reinstatement_premium(total, terms)
