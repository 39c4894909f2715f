from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutua.errors import ValidationFailed
from mutua.money import (
    from_fen,
    parse_yuan,
    plain_yuan,
    split_by_weights,
    split_fen,
    split_fen_array,
    to_fen,
    to_money,
)


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


@pytest.mark.parametrize(("typed", "value"), [
    ("1,234.50", Decimal("1234.50")), ("¥80", Decimal("80")), (" 0.5 ", Decimal("0.5")),
    ("-12", Decimal("-12")), (Decimal("7.25"), Decimal("7.25")), (3, Decimal("3")),
    ("", None), ("  ", None), (None, None)])
def test_one_parser_reads_amounts_as_people_type_them(typed, value):
    assert parse_yuan(typed) == value


@pytest.mark.parametrize("bad", ["abc", "1.2.3", "NaN", "Infinity", "12 yuan", "1e"])
def test_what_is_not_an_amount_is_refused_naming_the_field(bad):
    with pytest.raises(ValidationFailed) as e:
        parse_yuan(bad, field="items[0].claimed_amount")
    assert [(p.field, p.rule) for p in e.value.problems] == [
        ("items[0].claimed_amount", "must be an amount in yuan")]


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**9,
                   max_value=10**9))
def test_a_grouped_amount_with_the_yuan_sign_reads_back_as_itself(amount):
    assert parse_yuan(f"¥{amount:,}") == amount
    assert plain_yuan(f" {amount:,} ") == f"{amount}"
