"""The ledger service: idempotency keys per project, reversals, balances as of a date."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete

from mutua.errors import Conflict, NotFound
from mutua.ledger import domain as L
from mutua.ledger import service as ledger
from mutua.ledger.models import Account
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


@pytest.mark.parametrize("postings", [2, ledger.FEW_POSTINGS + 2])
def test_postings_land_on_their_accounts_whether_few_or_many(db, postings):
    """Few postings look their accounts up inside the insert, many read the chart first:
    both put each amount on the account it names, and the books balance."""
    pid = f.accident_project(db).project_id
    before = ledger.balance_of(db, project_id=pid, account=L.CASH)
    legs = L.transfer(L.CASH, L.UNEARNED_PREMIUM, Decimal("1.25"))
    ledger.post(db, L.JournalEntry.of(project_id=pid, entry_date=date(2026, 1, 5), kind="premium",
                                      memo="m", postings=legs * (postings // 2)))
    added = Decimal("1.25") * (postings // 2)
    assert ledger.balance_of(db, project_id=pid, account=L.CASH) == before + added
    assert all(tb.total == 0 for tb in ledger.trial_balance(db))


def test_a_posting_to_an_account_the_books_lack_is_named(db):
    """The chart of accounts is opened with the project; a project whose books lack an
    account (here removed before any posting) is told which, not given a bare key error;
    the caller's unit of work then rolls the entry back whole."""
    pid = f.accident_project(db).project_id
    db.execute(delete(Account).where(Account.project_id == pid, Account.code == L.CASH))
    with pytest.raises(NotFound, match=L.CASH):
        ledger.post(db, entry(pid, "3"))
