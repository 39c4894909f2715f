"""A small pool for close tests: an accident project sold in 2025Q1, members, a paid claim."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from mutua.auth.security import SYSTEM
from mutua.claims import first_notice as claims_first_notice
from mutua.claims import payments
from mutua.claims.schemas import ClaimIn
from mutua.ledger import service as ledger_service
from tests import factories as f

SALE_START = date(2025, 1, 1)
ENROLLED = date(2025, 1, 5)  # cover 2025-01-06 .. 2026-01-05
AFTER_Q1 = date(2025, 4, 15)
CODE = "SETTLE-ACC"


@dataclass
class Pool:
    project_id: int
    product_code: str
    members: list
    policies: list


def build_pool(db, *, members: int = 6, code: str = CODE, claims: int = 1,
               premium: str = "365.00", invoice: str = "300",
               operating_fund: str | None = "50000") -> Pool:
    product = f.accident_project(db, code=code, today=SALE_START, sale_start=SALE_START,
                                 sale_end=date(2025, 3, 31), premium=premium)
    # claims above what a few members paid in: finance approved an overdraft (the cash check)
    f.overdraft(db, project_id=product.project_id)
    if operating_fund:  # the initial operating fund behind the pool: its solvency capital
        from mutua.settlement import service as settlement_service

        settlement_service.configure(db, project_code=code, actor=SYSTEM,
                                     operating_fund=Decimal(operating_fund))
    ms = [f.member(db, name=f"会员{i}", login=i == 0) for i in range(members)]
    ps = [f.policy(db, member=m, product_code=product.code, on=ENROLLED) for m in ms]
    for i in range(claims):
        medical_claim(db, ps[i].id, on=date(2025, 2, 10), invoice=invoice)
    payments.pay(db, project_code=code, actor=SYSTEM, on=date(2025, 2, 20))
    db.commit()
    return Pool(product.project_id, product.code, ms, ps)


def medical_claim(db, policy_id: int, *, on: date, invoice: str):
    data = ClaimIn(policy_id=policy_id, event_type="accident", event_date=on,
                   place="深圳", description="fell", items=[{
                       "benefit_code": "medical", "invoice_amount": invoice}])
    return claims_first_notice.report(db, data=data, actor=SYSTEM, on=on)


@pytest.fixture
def pool(db) -> Pool:
    return build_pool(db)


def assert_books_balance(db) -> None:
    for tb in ledger_service.trial_balance(db):
        assert tb.total == 0, tb


def assert_statement_adds_up(s: dict) -> None:
    """Every line of a project statement follows from the ones before it, as a member with a
    calculator would check it (docs/statements.md)."""
    from decimal import Decimal as D

    n = {k: D(v) for k, v in s.items() if isinstance(v, str) and k != "quarter"
         and v.replace(".", "", 1).lstrip("-").isdigit()}
    for part in ("claims_payable", "case_reserve", "ibnr", "unexpired_risk_reserve"):
        change = "unexpired_risk_change" if part == "unexpired_risk_reserve" else f"{part}_change"
        assert n[change] == n[part] - n[f"{part}_before"], part
    assert n["claims_incurred"] == (n["claims_paid"] + n["claims_payable_change"]
                                    + n["case_reserve_change"] + n["ibnr_change"])
    gross = (n["earned_premium"] + n["uplift_premium_earned"] + n["uplift_premium_returned"]
             - n["claims_incurred"] - n["unexpired_risk_change"] - n["expenses"])
    assert n.get("result_gross", gross) == gross
    assert n["result"] == (gross - n.get("reinsurance_ceded", D(0))
                           + n.get("reinsurance_recovered", D(0)))
    basis = s["ibnr_basis"]
    booked = basis["chainladder"] if basis["method"] == "chainladder" else \
        basis["bornhuetter_ferguson"]
    assert n["ibnr"] == D(booked)
    pdt = {k: D(v) for k, v in s["premium_deficiency"].items()}
    assert pdt["shortfall"] == max(D(0), pdt["expected_claims"] + pdt["expected_costs"]
                                   - pdt["unearned_premium"]) == n["unexpired_risk_reserve"]
    assert n["reserve_after"] == n["reserve_before"] + n["reserve_set_aside"] - n["reserve_drawn"]
    loss = max(-n["result"] - n["reserve_drawn"], D(0))
    assert n["deficit_after"] == n["deficit_before"] + loss - n["deficit_made_good"]
    if n["result"] >= 0:
        assert n["surplus"] == n["result"] - n["deficit_made_good"] - n["reserve_set_aside"]
    else:
        assert n["surplus"] == 0 and n["reserve_set_aside"] == 0
    a = {k: D(v) for k, v in s["allocations"].items()}
    carried = a["carried"] if n["distributable"] else D(0)
    assert (n["surplus"] + n["undistributed_before"] - n["start_up_costs_recovered"]
            - n["operating_fund_repaid"]) == n["distributable"] + n["undistributed_after"] - carried
    assert n["distributable"] == a["uplift"] + a["carried"] + a["aid"] + a["services"]
