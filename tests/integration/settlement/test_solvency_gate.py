"""The C-ROSS solvency assessment at the close and the distribution gate that uses it."""

from __future__ import annotations

from decimal import Decimal

from mutua.auth.security import SYSTEM
from mutua.dates import Quarter
from mutua.settlement import capital, service
from tests.integration.settlement.conftest import (
    AFTER_Q1,
    CODE,
    assert_books_balance,
    assert_statement_adds_up,
    build_pool,
)

D = Decimal


def close(db):
    s = service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                              today=AFTER_Q1)
    db.commit()
    return s


def gate(s):
    return next(g for g in s["gates"] if g["name"] == "c_ross_solvency")


def test_a_pool_with_no_fund_distributes_only_what_keeps_its_ratios(db):
    pool = build_pool(db, operating_fund=None)
    s = close(db)
    sol = s["solvency"]
    assert sol["passed"] and D(sol["comprehensive_ratio_percent"]) >= 100
    # premium risk: a quarter's earned premium made a year, times the (demo) factor; reserve
    # risk on the claims reserves (the filed-pattern IBNR); the two combined at 0.5
    p = (D(s["earned_premium"]) * 4 * D("0.11")).quantize(D("0.01"))
    v = D(sol["reserve_risk"])
    assert D(sol["premium_risk"]) == p and v > 0
    assert D(sol["minimum_capital"]) == (p * p + v * v + p * v).sqrt().quantize(D("0.01"))
    assert sol["factors_demo"] is True
    assert D(s["distributable"]) == D(sol["headroom"]) < D(s["surplus"])
    assert "only" in gate(s)["reason"] and gate(s)["passed"]
    # capital is the books': what the close left, plus what it shared out, is what it assessed
    a = s["allocations"]
    shared = D(a["uplift"]) + D(a["aid"]) + D(a["services"])
    after = capital.net_assets(db, project_id=pool.project_id,
                               as_of=Quarter.parse("2025Q1").end)
    assert D(sol["actual_capital"]) == D(after) / 100 + shared
    assert_statement_adds_up(s)
    assert_books_balance(db)


def test_a_ratio_under_its_threshold_holds_the_whole_surplus_back(db):
    build_pool(db, operating_fund=None, invoice="560")
    s = close(db)
    assert D(s["surplus"]) > 0
    assert s["solvency"]["passed"] is False
    assert D(s["solvency"]["actual_capital"]) < D(s["solvency"]["minimum_capital"])
    assert s["distributable"] == "0.00"
    assert D(s["undistributed_after"]) >= D(s["surplus"])
    g = gate(s)
    assert not g["passed"] and "below a threshold, so no surplus is distributed" in g["reason"]
    assert_statement_adds_up(s)


def test_the_operating_fund_is_core_capital_and_a_borrowed_one_supplementary(db):
    build_pool(db, operating_fund="1000")
    service.configure(db, project_code=CODE, actor=SYSTEM, operating_fund_borrowed=True)
    s = close(db)
    sol = s["solvency"]
    assert sol["supplementary_capital"] == "1000.00"
    assert D(sol["actual_capital"]) == D(sol["core_capital"]) + 1000
    assert D(sol["core_ratio_percent"]) < D(sol["comprehensive_ratio_percent"])
