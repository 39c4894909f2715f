"""A small world for the premium cycle: an accident project, members, and helpers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mutua.auth.security import SYSTEM
from mutua.dates import today as shanghai_today
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.policies import service as policies_service
from tests import factories as f

TODAY = shanghai_today()
ENROLLED = TODAY - timedelta(days=10)  # grace (30 days) still running today


@pytest.fixture
def product(db):
    p = f.accident_project(db, today=TODAY, sale_start=TODAY - timedelta(days=90))
    db.commit()
    return p


def unpaid(db, member, on=ENROLLED):
    return policies_service.enrol(db, member_id=member.id, product_code="TEST-ACC-1",
                                  period_code="P1", actor=SYSTEM, on=on, paid=False)


def balance(db, project_id: int, account: str) -> Decimal:
    return ledger_service.balance_of(db, project_id=project_id, account=account)


def assert_books_balance(db) -> None:
    for tb in ledger_service.trial_balance(db):
        assert tb.total == 0, tb


RECEIVABLE, UNEARNED, CASH = L.PREMIUM_RECEIVABLE, L.UNEARNED_PREMIUM, L.CASH
