"""The journal entries a close posts to the project's books (pure: values only).

Claims paid and case reserves are posted by the claims domain as they happen; the close
posts what only it knows: premium earned over time, the IBNR estimate, expenses, the
reserve movement, the deficit carried forward and the allocation of the surplus.
"""

from __future__ import annotations

from datetime import date

from mutua.ledger import domain as L
from mutua.money import from_fen


def close_entries(*, project_id: int, quarter: str, on: date, earned: int, uplift_earned: int,
                  ibnr_change: int, expenses: int, startup_recovered: int,
                  reserve_contribution: int, deficit_change: int, fund_repaid: int,
                  uplift: int, aid: int, services: int, unexpired_risk_change: int = 0,
                  uplift_returned: int = 0, ceded: int = 0) -> list[L.JournalEntry]:
    lines = [
        ("reinsurance", "premium ceded to reinsurers (rate on earned premium)",
         L.CEDED_PREMIUM, L.REINSURANCE_PAYABLE, ceded),
        ("premium_earned", "premium earned in the quarter (1/365)",
         L.UNEARNED_PREMIUM, L.PREMIUM_EARNED, earned),
        ("uplift_earned", "uplift premium earned in the quarter",
         L.UNEARNED_UPLIFT_PREMIUM, L.UPLIFT_PREMIUM_EARNED, uplift_earned),
        ("ibnr", "change in IBNR reserve", L.IBNR_CHANGE, L.IBNR_RESERVE, ibnr_change),
        ("unexpired_risk", "change in unexpired risk reserve (premium deficiency)",
         L.UNEXPIRED_RISK_CHANGE, L.UNEXPIRED_RISK_RESERVE, unexpired_risk_change),
        ("uplift_returned", "unearned uplift premium returned by cancelled policies",
         L.UNEARNED_UPLIFT_PREMIUM, L.UPLIFT_PREMIUM_RETURNED, uplift_returned),
        ("expenses", "necessary costs charged (capped by the expense loading)",
         L.OPERATING_EXPENSES, L.EXPENSES_PAYABLE, expenses),
        ("start_up_costs", "start-up costs recovered from surplus",
         L.OPERATING_EXPENSES, L.EXPENSES_PAYABLE, startup_recovered),
        ("reserve", "stabilisation reserve contribution (negative: drawn)",
         L.RESERVE_CONTRIBUTION, L.STABILISATION_RESERVE, reserve_contribution),
        ("deficit", "deficit carried forward (negative: made good)",
         L.DEFICIT_CARRIED_FORWARD, L.UNDISTRIBUTED_SURPLUS, deficit_change),
        ("operating_fund", "initial operating fund instalment repaid",
         L.UNDISTRIBUTED_SURPLUS, L.CASH, fund_repaid),
        ("uplift", "surplus spent on sum-insured uplift (premium paid for members)",
         L.UPLIFT_EXPENSE, L.UNEARNED_UPLIFT_PREMIUM, uplift),
        ("aid", "surplus granted as claimant aid", L.MEMBER_AID_EXPENSE, L.MEMBER_AID_PAYABLE, aid),
        ("services", "surplus put into the services fund",
         L.SERVICES_EXPENSE, L.SERVICES_FUND, services),
    ]
    return [
        L.JournalEntry.of(
            project_id=project_id, entry_date=on, kind=f"close:{kind}",
            memo=f"{quarter} close: {memo}", reference=quarter,
            idempotency_key=f"close:{project_id}:{quarter}:{kind}",
            postings=L.transfer(debit, credit, from_fen(amount)))
        for kind, memo, debit, credit, amount in lines if amount
    ]
