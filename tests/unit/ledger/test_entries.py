from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutua.ledger.domain import CASH, CHART, UNEARNED_PREMIUM, JournalEntry, Unbalanced


def test_unbalanced_entry_cannot_be_built():
    with pytest.raises(Unbalanced):
        JournalEntry.of(project_id=1, entry_date=date(2026, 1, 1), kind="x", memo="x",
                        postings=[(CASH, Decimal("10.00")), (UNEARNED_PREMIUM, Decimal("-9.99"))])


def test_unknown_account_and_fractional_fen_refused():
    with pytest.raises(ValueError, match="unknown account"):
        JournalEntry.of(project_id=1, entry_date=date(2026, 1, 1), kind="x", memo="x",
                        postings=[("petty_cash", Decimal("1")), (CASH, Decimal("-1"))])


def test_reversal_negates_every_posting():
    e = JournalEntry.of(project_id=1, entry_date=date(2026, 1, 1), kind="premium", memo="p",
                        postings=[(CASH, Decimal("5")), (UNEARNED_PREMIUM, Decimal("-5"))])
    r = e.reversed(entry_id=9, entry_date=date(2026, 1, 2), memo="undo")
    assert [p.amount for p in r.postings] == [Decimal("-5.00"), Decimal("5.00")]
    assert r.reverses_entry_id == 9


@given(st.lists(st.tuples(st.sampled_from(sorted(CHART)), st.integers(-10**9, 10**9)),
                min_size=1, max_size=20))
def test_any_entry_that_builds_balances(lines):
    postings = [(a, Decimal(x) / 100) for a, x in lines]
    balancing = -sum((x for _, x in postings), Decimal(0))
    postings.append((CASH, balancing))
    try:
        e = JournalEntry.of(project_id=1, entry_date=date(2026, 1, 1), kind="k", memo="m",
                            postings=postings)
    except Unbalanced:  # every line was zero
        assert all(x == 0 for _, x in postings)
        return
    assert sum(p.amount for p in e.postings) == 0
