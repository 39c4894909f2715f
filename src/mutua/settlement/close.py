"""The quarter's result, the stabilisation reserve, deficits and the distribution gates.

Pure rules of the quarterly close (季度独立核算). All amounts are integer fen.

The order is what a mutual's members are promised:

1. result = earned premium (incl. uplift premium earned and uplift premium cancelled
   policies returned) - claims incurred - change in the unexpired risk reserve (premium
   deficiency) - expenses - reinsurance premium ceded + recoveries from reinsurers (net of
   reinsurance; the gross result is the same before the last two terms), where claims
   incurred = paid in the quarter + change in claims payable (approved, not yet paid) +
   change in case reserve (reported, not decided) + change in IBNR. Every
   claim is in exactly one of case reserve, payable and paid from report to payment, so
   a decision or a payment moves money between the terms and leaves incurred unchanged;
2. a negative result is drawn from the stabilisation reserve (风险平准准备金); what the
   reserve cannot cover is carried forward (待弥补亏损);
3. a positive result first makes good a carried deficit, then tops up the reserve
   (a share of the result, at least up to the minimum, never beyond the target);
4. the rest is surplus (结余). Before any of it is distributed, the gates are checked:
   start-up costs covered, solvency (the stabilisation reserve's minimum, and the C-ROSS
   ratios when assessed: nothing leaves while one is under its threshold, and no more than
   keeps both at it), and the initial operating fund's repayment rules
   (相互保险组织监管试行办法, DOMAIN.md section 2). Surplus held back by a gate stays
   undistributed and is offered again at the next close.

>>> f = QuarterFigures(earned_premium=100_00, uplift_premium_earned=0, claims_paid=40_00,
...     case_reserve_change=5_00, ibnr_change=5_00, expenses=15_00,
...     claims_payable_change=10_00)
>>> f.claims_incurred, f.result
(6000, 2500)
>>> o = settle(f, Position(reserve=0, deficit=0, undistributed=0),
...            Rules(reserve_target=20_00, reserve_minimum=5_00, reserve_contribution_rate=Decimal("0.2")))
>>> o.result, o.reserve_contribution, o.surplus, o.distributable
(2500, 500, 2000, 2000)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from mutua.errors import Worded
from mutua.money import fmt, from_fen
from mutua.settlement import solvency


@dataclass(frozen=True)
class QuarterFigures:
    earned_premium: int
    uplift_premium_earned: int
    claims_paid: int
    case_reserve_change: int
    ibnr_change: int
    expenses: int
    claims_payable_change: int = 0
    # Change in the unexpired risk reserve the premium deficiency test holds.
    unexpired_risk_change: int = 0
    # Unearned uplift premium cancelled policies gave back to the pool.
    uplift_premium_returned: int = 0
    reinsurance_ceded: int = 0  # premium ceded to reinsurers (reinstatements included)
    reinsurance_recovered: int = 0  # recoveries booked on the quarter's decisions

    @property
    def claims_incurred(self) -> int:
        return (self.claims_paid + self.claims_payable_change + self.case_reserve_change
                + self.ibnr_change)

    @property
    def result_gross(self) -> int:
        """The result before reinsurance."""
        return (self.earned_premium + self.uplift_premium_earned + self.uplift_premium_returned
                - self.claims_incurred - self.unexpired_risk_change - self.expenses)

    @property
    def result(self) -> int:
        """The result net of reinsurance: what the pool itself keeps or bears."""
        return self.result_gross - self.reinsurance_ceded + self.reinsurance_recovered


@dataclass(frozen=True)
class Position:
    """What the previous close left: reserve, deficit carried forward, undistributed surplus."""

    reserve: int
    deficit: int
    undistributed: int


@dataclass(frozen=True)
class Rules:
    reserve_target: int
    reserve_minimum: int
    reserve_contribution_rate: Decimal
    startup_costs_outstanding: int = 0
    fund_outstanding: int = 0  # borrowed initial operating fund not yet repaid
    fund_instalment: int = 0
    fund_repayment_approved: bool = False  # member assembly vote and regulator approval
    # C-ROSS solvency before the distribution (settlement/solvency.py); None: not assessed
    solvency: solvency.Assessment | None = None


def reserve_bounds(earned_in_quarter: int, target_ratio: Decimal,
                   minimum_ratio: Decimal) -> tuple[int, int]:
    """The stabilisation reserve's (target, minimum): ratios of the quarter's earned premium
    annualised (times four), cut to the fen; a quarter that earned nothing sets them to 0.

    >>> reserve_bounds(100_00, Decimal("0.15"), Decimal("0.05"))
    (6000, 2000)
    >>> reserve_bounds(33, Decimal("0.15"), Decimal("0.05"))
    (19, 6)
    >>> reserve_bounds(-5_00, Decimal("0.15"), Decimal("0.05"))
    (0, 0)
    """
    annual = Decimal(max(earned_in_quarter, 0) * 4)
    return int(annual * Decimal(target_ratio)), int(annual * Decimal(minimum_ratio))


def still_owed(owed: int, settled: int) -> int:
    """What is left of an amount after what earlier closes settled, never below 0.

    >>> still_owed(10_000_00, 2_500_00), still_owed(100, 250)
    (750000, 0)
    """
    return max(0, owed - settled)


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class Outcome:
    result: int
    reserve_drawn: int
    deficit_made_good: int
    reserve_contribution: int
    reserve_after: int
    deficit_after: int
    surplus: int
    startup_costs_recovered: int
    fund_repaid: int
    distributable: int
    undistributed_after: int
    gates: tuple[Gate, ...] = field(default_factory=tuple)


def _share(amount: int, rate: Decimal) -> int:
    return int((Decimal(amount) * rate).to_integral_value(rounding=ROUND_DOWN))


def settle(f: QuarterFigures, before: Position, rules: Rules) -> Outcome:
    """Apply the close's order of claims on the result; see the module docstring."""
    result = f.result
    target = max(rules.reserve_target, rules.reserve_minimum)
    drawn = made_good = contribution = surplus = 0
    reserve, deficit = before.reserve, before.deficit
    if result < 0:
        drawn = min(reserve, -result)
        reserve -= drawn
        deficit += -result - drawn
    else:
        made_good = min(deficit, result)
        deficit -= made_good
        rest = result - made_good
        up_to_minimum = max(0, rules.reserve_minimum - reserve)
        wanted = max(up_to_minimum, _share(rest, rules.reserve_contribution_rate))
        contribution = max(0, min(rest, wanted, target - reserve))
        reserve += contribution
        surplus = rest - contribution
    pool = surplus + before.undistributed
    gates, recovered, repaid, pool = _gates(pool, reserve, deficit, rules)
    distributable = pool if all(g.passed for g in gates) else 0
    if rules.solvency is not None:
        gate, distributable = _solvency_gate(rules.solvency, distributable, recovered + repaid)
        gates = (*gates, gate)
    return Outcome(
        result=result, reserve_drawn=drawn, deficit_made_good=made_good,
        reserve_contribution=contribution - drawn, reserve_after=reserve, deficit_after=deficit,
        surplus=surplus, startup_costs_recovered=recovered, fund_repaid=repaid,
        distributable=distributable, undistributed_after=pool - distributable, gates=gates,
    )


def _gates(pool: int, reserve: int, deficit: int, rules: Rules):
    gates = []
    recovered = min(pool, rules.startup_costs_outstanding)
    pool -= recovered
    left = rules.startup_costs_outstanding - recovered
    gates.append(Gate("start_up_costs", left == 0, _start_up_reason(left, recovered)))
    solvent = reserve >= rules.reserve_minimum and deficit == 0
    gates.append(Gate("solvency", solvent, Worded(
        "stabilisation reserve %(reserve)s is at or above its minimum %(minimum)s and no "
        "deficit is carried", reserve=_y(reserve), minimum=_y(rules.reserve_minimum))
        if solvent else Worded(
        "reserve %(reserve)s below its minimum %(minimum)s or deficit %(deficit)s carried "
        "forward: surplus is retained", reserve=_y(reserve), minimum=_y(rules.reserve_minimum),
        deficit=_y(deficit))))
    repaid = 0
    if rules.fund_outstanding <= 0:
        gates.append(Gate("operating_fund", True,
                          Worded("no borrowed initial operating fund outstanding")))
    elif not rules.fund_repayment_approved:
        gates.append(Gate("operating_fund", True, Worded(
            "initial operating fund %(fund)s outstanding; no repayment approved by the member "
            "assembly and the regulator, so none is made", fund=_y(rules.fund_outstanding))))
    elif not (left == 0 and solvent):
        gates.append(Gate("operating_fund", False, Worded(
            "repayment of the initial operating fund is suspended while start-up costs are "
            "uncovered or solvency is insufficient; surplus is retained")))
    elif reserve + pool < rules.fund_outstanding:
        gates.append(Gate("operating_fund", False, Worded(
            "reserve plus undistributed surplus %(total)s has not yet reached the fund "
            "outstanding %(fund)s: surplus is retained until the approved repayment can be "
            "made", total=_y(reserve + pool), fund=_y(rules.fund_outstanding))))
    else:
        repaid = min(pool, rules.fund_instalment, rules.fund_outstanding)
        pool -= repaid
        gates.append(Gate("operating_fund", True, Worded(
            "approved instalment of %(repaid)s repaid on the initial operating fund; %(left)s "
            "remains", repaid=_y(repaid), left=_y(rules.fund_outstanding - repaid))))
    return tuple(gates), recovered, repaid, pool


def _start_up_reason(left: int, recovered: int) -> Worded:
    if left == 0 and recovered == 0:
        return Worded("start-up costs are covered")
    if left == 0:
        return Worded("start-up costs covered: %(recovered)s recovered this quarter",
                      recovered=_y(recovered))
    return Worded("start-up costs not yet covered: %(left)s outstanding after recovering "
                  "%(recovered)s; nothing may be distributed", left=_y(left),
                  recovered=_y(recovered))


def _solvency_gate(a: solvency.Assessment, distributable: int,
                   spent: int) -> tuple[Gate, int]:
    """No surplus leaves while a C-ROSS ratio is under its threshold, and no more than
    keeps both at their thresholds (start-up costs and fund repaid have taken ``spent``)."""
    allowed = min(distributable, max(0, a.headroom - spent)) if a.passed else 0
    return Gate("c_ross_solvency", a.passed,
                solvency.gate_reason(a, distributable, allowed)), allowed


def _y(fen: int) -> str:
    return fmt(from_fen(fen))
