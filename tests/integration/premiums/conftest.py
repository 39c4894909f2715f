"""A small world for the premium cycle: an accident project, members, and helpers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from mutua.auth.security import SYSTEM
from mutua.catalog import service as catalog_service
from mutua.catalog.schemas import PeriodDef
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


RENEWAL_START = date(2026, 1, 1)


@pytest.fixture
def two_periods(db):
    """P1 sold in January 2026 (waiting period 30 days); P2 on sale from November."""
    product = f.accident_project(db, today=RENEWAL_START, sale_start=RENEWAL_START,
                                 sale_end=date(2026, 1, 31), waiting_days=30)
    catalog_service.create_period(db, product_code="TEST-ACC-1", actor=SYSTEM, period=PeriodDef(
        code="P2", sale_start=date(2026, 11, 1), sale_end=date(2027, 1, 31),
        cover_start=date(2027, 1, 1)))
    db.commit()
    db.expire_all()  # the product's periods, read before P2 was added
    return product
