"""Everything a close computed, in fen, before it is written: what quarter_close.py writes
and statements.py tells."""

from __future__ import annotations

from dataclasses import dataclass

from mutua.reinsurance import service as reinsurance_service
from mutua.settlement import allocation, expenses, reserving, uplift
from mutua.settlement import close as rules


@dataclass
class Work:
    """Everything the close computed, in fen, before it is written."""

    earned_to_date: int
    earned_in_quarter_by_product: dict[int, int]
    uplift_earned_to_date: int
    figures: rules.QuarterFigures  # the terms of the quarter's result
    claims_payable: int
    claims_payable_before: int | None  # None: the last close counted no claims payable
    case_reserve: int
    case_reserve_before: int
    ibnr_cl: int
    ibnr_bf: int
    ibnr: int
    ibnr_before: int
    costs: expenses.ExpenseCharge  # actual by category against the cap
    reinsurance: reinsurance_service.QuarterReinsurance
    solvency: dict  # the C-ROSS assessment before distribution, as the statement shows it
    before: rules.Position
    rules: rules.Rules
    outcome: rules.Outcome
    alloc: allocation.Allocation
    candidates: uplift.Candidates
    claimants: list[tuple[int, int]]
    carried_in: int  # uplift money the last close carried into this one
    carried: int  # uplift money carried to the next close
    last_quarter: str | None  # the quarter the last close closed
    reserving: reserving.Reserving  # IBNR basis, premium deficiency, uplift returned

    @property
    def undistributed_after(self) -> int:
        """Surplus held back by a gate, and the uplift money carried, for the next close."""
        return self.outcome.undistributed_after + (self.carried if self.outcome.distributable
                                                   else 0)

    def uplift_rows(self):
        """Per range of policies: (policy id, benefit id, money, sum insured added) of the
        rows the rise reached."""
        return self.candidates.basis.reached(uplift.Raised.of(self.alloc.raised))
