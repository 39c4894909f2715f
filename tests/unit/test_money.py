from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutua.errors import ValidationFailed
from mutua.money import from_fen, split_by_weights, split_fen, split_fen_array, to_fen, to_money


def test_to_money_rounds_half_up_once():
    assert to_money("0.005") == Decimal("0.01")
    assert to_money("2.675") == Decimal("2.68")
    assert to_fen(Decimal("-0.005")) == -1


@pytest.mark.parametrize("bad", [1.5, "abc", "NaN", "Infinity", True, "1e100", "-2e12"])
def test_to_money_refuses_floats_and_garbage(bad):
    with pytest.raises(ValidationFailed) as err:
        to_money(bad, field="premium")
    assert err.value.problems[0].field == "premium"


def test_split_examples():
    assert split_fen(100, [1, 1, 1]) == [34, 33, 33]
    assert split_by_weights(Decimal("0.05"), [1, 1]) == [Decimal("0.03"), Decimal("0.02")]
    assert split_fen(10, [0, 0]) == [0, 0]


@given(st.integers(-10**12, 10**12), st.lists(st.integers(0, 10**6), min_size=1, max_size=50))
def test_split_adds_up_to_the_fen(total, weights):
    parts = split_fen(total, weights)
    if sum(weights) == 0:
        assert parts == [0] * len(weights)
    else:
        assert sum(parts) == total


@given(st.integers(0, 10**11), st.lists(st.integers(0, 10**8), min_size=1, max_size=200))
def test_vectorised_split_equals_list_split(total, weights):
    assert split_fen_array(total, np.array(weights)).tolist() == split_fen(total, weights)


def test_fen_round_trip():
    assert from_fen(to_fen(Decimal("123.45"))) == Decimal("123.45")
