"""Actual costs by category, charged at the close up to the loading cap."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from mutua.auth.security import SYSTEM
from mutua.errors import ValidationFailed
from mutua.settlement import service
from mutua.settlement.models import Expense
from tests.integration.settlement.conftest import (
    AFTER_Q1,
    CODE,
    assert_books_balance,
    assert_statement_adds_up,
)

D = Decimal


def record(db, amount, category, quarter="2025Q1"):
    return service.record_expense(db, project_code=CODE, quarter=quarter, amount=D(amount),
                                  memo=f"{category} costs", category=category, actor=SYSTEM)


def close(db):
    s = service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                              today=AFTER_Q1)
    db.commit()
    return s


def test_costs_by_category_under_the_cap(db, pool):
    record(db, "20.00", "staff")
    record(db, "5.50", "systems")
    record(db, "4.50", "staff")
    s = close(db)
    assert s["expense_cap"] != s["expenses"]  # the cap is a ceiling, not a charge
    assert s["expenses"] == s["expenses_actual"] == "30.00" and s["expenses_over_cap"] == "0.00"
    assert s["expenses_by_category"] == [
        {"category": "staff", "actual": "24.50", "charged": "24.50"},
        {"category": "systems", "actual": "5.50", "charged": "5.50"}]
    assert_statement_adds_up(s)
    assert_books_balance(db)


def test_costs_above_the_cap_charge_the_cap_and_show_the_excess(db, pool):
    record(db, "500.00", "staff")
    record(db, "300.00", "claims_handling")
    s = close(db)
    cap = D(s["expense_cap"])
    assert D(s["expenses"]) == cap
    assert D(s["expenses_over_cap"]) == D("800.00") - cap
    assert sum(D(c["charged"]) for c in s["expenses_by_category"]) == cap
    assert_statement_adds_up(s)


def test_no_costs_recorded_charges_the_configured_share_as_assumed(db, pool):
    s = close(db)
    assert s["expenses_by_category"] == [
        {"category": "assumed", "actual": s["expense_cap"], "charged": s["expense_cap"]}]


def test_an_unknown_category_is_refused_and_nothing_stored(db, pool):
    with pytest.raises(ValidationFailed) as e:
        record(db, "1.00", "lunch")
    assert e.value.problems[0].field == "category"
    with pytest.raises(ValidationFailed) as e:
        service.check_expense(db, project_code=CODE, quarter="2025Q1", amount="1.00",
                              memo="x", category="lunch")
    assert [p.field for p in e.value.problems] == ["category"]
    assert db.scalar(select(Expense.id)) is None
