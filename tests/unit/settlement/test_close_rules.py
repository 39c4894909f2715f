from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mutua.ledger import domain as L
from mutua.settlement import books
from mutua.settlement import close as C

RULES = C.Rules(reserve_target=10_000, reserve_minimum=2_000,
                reserve_contribution_rate=Decimal("0.2"))
AMOUNT = st.integers(0, 10**8)


def figures(earned=100_000, paid=40_000, case=0, ibnr=0, expenses=15_000, uplift=0):
    return C.QuarterFigures(earned, uplift, paid, case, ibnr, expenses)


def test_surplus_tops_up_the_reserve_to_its_minimum_first():
    o = C.settle(figures(), C.Position(0, 0, 0), RULES)
    assert o.result == 45_000
    assert o.reserve_contribution == 9_000 and o.reserve_after == 9_000
    assert o.surplus == 36_000 == o.distributable


def test_reserve_stops_at_its_target():
    o = C.settle(figures(), C.Position(9_500, 0, 0), RULES)
    assert o.reserve_contribution == 500 and o.surplus == 44_500


def test_deficit_drawn_then_carried():
    o = C.settle(figures(paid=200_000), C.Position(30_000, 0, 0), RULES)
    assert o.result == -115_000 and o.reserve_drawn == 30_000
    assert o.deficit_after == 85_000 and o.reserve_after == 0 and o.distributable == 0
    later = C.settle(figures(), C.Position(0, 85_000, 0), RULES)
    assert later.deficit_made_good == 45_000 and later.deficit_after == 40_000
    assert later.distributable == 0


def test_gate_reasons_are_given():
    rules = C.Rules(10_000, 2_000, Decimal("0.2"), startup_costs_outstanding=50_000)
    o = C.settle(figures(), C.Position(5_000, 0, 0), rules)
    assert [g.name for g in o.gates] == ["start_up_costs", "solvency", "operating_fund"]
    assert not o.gates[0].passed and "outstanding" in o.gates[0].reason
    assert o.startup_costs_recovered == o.surplus and o.distributable == 0


def test_fund_instalment_repaid_once_reserve_and_surplus_reach_it():
    rules = C.Rules(10_000, 2_000, Decimal("0.2"), fund_outstanding=20_000,
                    fund_instalment=5_000, fund_repayment_approved=True)
    o = C.settle(figures(), C.Position(10_000, 0, 0), rules)
    assert o.fund_repaid == 5_000 and o.distributable == o.surplus - 5_000
    held = C.settle(figures(), C.Position(0, 0, 0), C.Rules(
        10_000, 2_000, Decimal("0.2"), fund_outstanding=10**9, fund_instalment=5_000,
        fund_repayment_approved=True))
    assert held.distributable == 0 and held.undistributed_after == held.surplus


@given(earned=AMOUNT, paid=AMOUNT, case=st.integers(-10**7, 10**7), ibnr=st.integers(-10**7, 10**7),
       expenses=AMOUNT, reserve=AMOUNT, deficit=AMOUNT, undistributed=AMOUNT,
       startup=AMOUNT)
@settings(max_examples=400)
def test_every_fen_of_the_result_is_accounted_for(earned, paid, case, ibnr, expenses, reserve,
                                                  deficit, undistributed, startup):
    f = C.QuarterFigures(earned, 0, paid, case, ibnr, expenses)
    rules = C.Rules(10**7, 10**6, Decimal("0.2"), startup_costs_outstanding=startup)
    o = C.settle(f, C.Position(reserve, deficit, undistributed), rules)
    # result = reserve movement - deficit movement + surplus
    assert o.result == o.reserve_contribution - (o.deficit_after - deficit) + o.surplus
    # surplus (with what was held back) ends up recovered, repaid, distributed or held back
    assert (o.surplus + undistributed == o.startup_costs_recovered + o.fund_repaid
            + o.distributable + o.undistributed_after)
    assert o.reserve_after >= 0 and o.deficit_after >= 0 and o.distributable >= 0
    assert o.reserve_after == reserve + o.reserve_contribution
    assert o.deficit_after == 0 or o.distributable == 0


@given(st.lists(st.integers(-10**9, 10**9), min_size=11, max_size=11))
def test_close_entries_balance(amounts):
    entries = books.close_entries(project_id=1, quarter="2026Q1", on=date(2026, 3, 31),
                                  earned=amounts[0], uplift_earned=amounts[1],
                                  ibnr_change=amounts[2], expenses=amounts[3],
                                  startup_recovered=amounts[4], reserve_contribution=amounts[5],
                                  deficit_change=amounts[6], fund_repaid=amounts[7],
                                  uplift=amounts[8], aid=amounts[9], services=amounts[10])
    assert all(e.total == 0 for e in entries)
    assert all(isinstance(e, L.JournalEntry) for e in entries)
    assert len({e.idempotency_key for e in entries}) == len(entries)


def test_reserve_bounds_annualise_the_quarter_and_cut_to_the_fen():
    # 1,046.16 earned in the quarter: 4,184.64 a year; 15% is 627.696 -> 627.69, 5% 209.23
    assert C.reserve_bounds(1_046_16, Decimal("0.15"), Decimal("0.05")) == (627_69, 209_23)
    assert C.reserve_bounds(0, Decimal("0.15"), Decimal("0.05")) == (0, 0)
    assert C.reserve_bounds(-1_00, Decimal("0.15"), Decimal("0.05")) == (0, 0)


@given(st.integers(-10**9, 10**12), st.decimals(0, 1, places=4), st.decimals(0, 1, places=4))
def test_reserve_bounds_never_exceed_the_annual_premium(earned, target, minimum):
    t, m = C.reserve_bounds(earned, target, minimum)
    assert 0 <= t <= max(earned, 0) * 4 and 0 <= m <= max(earned, 0) * 4


def test_what_is_still_owed_never_goes_below_zero():
    assert C.still_owed(500_00, 200_00) == 300_00
    assert C.still_owed(500_00, 600_00) == 0
