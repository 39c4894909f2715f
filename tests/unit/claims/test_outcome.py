"""The outcome of a claim decision (approve, partly approve, deny), for the engine's own
amounts and for the amounts a handler decides on the engine's items."""

from __future__ import annotations

import doctest
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutua.claims import adjudication
from mutua.claims.adjudication import APPROVE, DENY, PARTLY_APPROVE, Decision, ItemDecision, Reason

D = Decimal
PAID = ItemDecision("MED", D("100"), (Reason.COVERED.value,), D("100"), D("1000"))
CUT = ItemDecision("MED", D("80"), (Reason.LIMIT.value,), D("100"), D("80"))
DENIED = ItemDecision("MED", D("0"), (Reason.WAITING_PERIOD.value,), D("0"), D("0"))
NOTHING_LEFT = ItemDecision("MED", D("0"), (Reason.COVERED.value,), D("100"), D("0"))


def handler(amounts: list[str], items: list[ItemDecision]) -> str:
    return adjudication.outcome([D(a) for a in amounts], items)


@pytest.mark.parametrize(("items", "expected"), [
    ([PAID], APPROVE), ([PAID, PAID], APPROVE), ([CUT], PARTLY_APPROVE),
    ([PAID, DENIED], PARTLY_APPROVE), ([DENIED], DENY), ([NOTHING_LEFT], DENY),
    ([DENIED, NOTHING_LEFT], DENY), ([PAID, NOTHING_LEFT], PARTLY_APPROVE)])
def test_the_engine_outcome(items, expected):
    assert Decision(tuple(items)).outcome == expected


@pytest.mark.parametrize(("amounts", "items", "expected"), [
    (["100"], [PAID], APPROVE),
    (["60"], [PAID], PARTLY_APPROVE),  # the handler paid less than the terms give
    (["0"], [PAID], DENY),
    (["80"], [CUT], PARTLY_APPROVE),  # the engine's reduced amount stays partial
    (["100"], [CUT], APPROVE),  # the handler paid the item in full above the engine
    (["50"], [DENIED], APPROVE),  # the handler paid an item the engine denied
    (["100", "0"], [PAID, DENIED], PARTLY_APPROVE),
    (["0", "0"], [PAID, CUT], DENY)])
def test_the_outcome_of_a_handlers_amounts(amounts, items, expected):
    assert handler(amounts, items) == expected


ITEMS = st.sampled_from([PAID, CUT, DENIED, NOTHING_LEFT])


@given(st.lists(ITEMS, min_size=1, max_size=5))
def test_a_handler_who_takes_the_engines_amounts_gets_the_engines_outcome(items):
    assert handler([str(i.approved) for i in items], items) == Decision(tuple(items)).outcome


@given(st.lists(st.tuples(ITEMS, st.integers(0, 200)), min_size=1, max_size=5))
def test_nothing_paid_is_a_denial_and_anything_paid_is_not(pairs):
    outcome = handler([str(a) for _, a in pairs], [i for i, _ in pairs])
    assert (outcome == DENY) == all(a == 0 for _, a in pairs)


def test_the_doctests_hold():
    assert doctest.testmod(adjudication).failed == 0
