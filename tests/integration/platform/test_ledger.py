"""The ledger service: idempotency keys per project, reversals, balances as of a date."""

from datetime import date
from decimal import Decimal

import pytest

from mutua.errors import Conflict
from mutua.ledger import domain as L
from mutua.ledger import service as ledger
from tests import factories as f


def entry(project_id: int, amount: str, key: str | None = None, on=date(2026, 1, 5)):
    return L.JournalEntry.of(project_id=project_id, entry_date=on, kind="premium", memo="m",
                             idempotency_key=key,
                             postings=L.transfer(L.CASH, L.UNEARNED_PREMIUM, Decimal(amount)))


def test_keys_are_unique_per_project_only(db):
    a = f.accident_project(db, code="A").project_id
    b = f.accident_project(db, code="B").project_id
    ledger.post(db, entry(a, "10", key="close:2026Q1"))
    ledger.post(db, entry(b, "10", key="close:2026Q1"))  # another project's books: allowed
    with pytest.raises(Conflict):
        ledger.post(db, entry(a, "10", key="close:2026Q1"))


def test_reversal_restores_balances_and_only_once(db):
    pid = f.accident_project(db).project_id
    eid = ledger.post(db, entry(pid, "25.50"))
    assert ledger.balance_of(db, project_id=pid, account=L.CASH) == Decimal("25.50")
    ledger.reverse(db, entry_id=eid, entry_date=date(2026, 1, 6), memo="keyed twice")
    assert ledger.balance_of(db, project_id=pid, account=L.CASH) == 0
    with pytest.raises(Conflict):
        ledger.reverse(db, entry_id=eid, entry_date=date(2026, 1, 7), memo="again")
    assert all(tb.total == 0 for tb in ledger.trial_balance(db))


def test_balance_as_of_a_date(db):
    pid = f.accident_project(db).project_id
    ledger.post(db, entry(pid, "1", on=date(2026, 1, 1)))
    ledger.post(db, entry(pid, "2", on=date(2026, 2, 1)))
    assert ledger.balance_of(db, project_id=pid, account=L.CASH, as_of=date(2026, 1, 31)) == 1
    assert ledger.balance_of(db, project_id=pid, account=L.CASH) == 3
