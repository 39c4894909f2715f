"""The hand recomputation of the demo's CHILD 2026Q3 close (issue 21), term by term.

The pool is built with the demo's own CHILD catalogue (src/mutua/demo/catalog/child.yaml:
premium 29.00 a year, a priori loss ratio 0.55, 15% loading, filed reporting pattern 15%,
4%, 1%, 0% unreported after 0, 1, 2, 3 quarters) and 40 children whose cover runs from
2026-04-01 to 2027-03-31. 2026Q2 is closed first, then 2026Q3, in which one claim is paid
and one, like CL000000042, is decided in late September and paid in the batch of 2 October.
Every figure of the 2026Q3 statement is recomputed here from the rules as filed.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlalchemy import select

from mutua.auth.security import SYSTEM
from mutua.catalog import service as catalog_service
from mutua.catalog.models import Benefit
from mutua.catalog.schemas import PeriodDef
from mutua.claims import first_notice as claims_first_notice
from mutua.claims import payments
from mutua.claims.models import Claim
from mutua.claims.schemas import ClaimIn
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.policies.models import Policy, SumInsuredUplift
from mutua.settlement import service
from mutua.settlement.models import AidPayment, Close
from tests import factories as f
from tests.integration.settlement.conftest import assert_books_balance, assert_statement_adds_up

D = Decimal
CHILD_YAML = Path(catalog_service.__file__).parents[1] / "demo" / "catalog" / "child.yaml"
CHILDREN = 40


def fen(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def earned_to(premium: Decimal, start: date, end: date, day: date) -> Decimal:
    """Cumulative earned by the end of ``day``, daily pro rata, to the fen (DOMAIN.md s.3)."""
    days = (end - start).days + 1
    return fen(premium * max(0, min((day - start).days + 1, days)) / days)


def build_child_pool(db):
    defn = catalog_service.parse_definition(CHILD_YAML.read_text(encoding="utf-8"))
    catalog_service.load_definition(db, defn=defn, actor=SYSTEM)
    catalog_service.create_period(db, product_code="CHILD-ACC", actor=SYSTEM, period=PeriodDef(
        code="2026Q2", sale_start=date(2026, 3, 1), sale_end=date(2026, 3, 31),
        cover_start=date(2026, 4, 1)))
    f.overdraft(db, project_id=_project_id(db))
    kids = [f.member(db, birth=date(2012 + i % 10, 5, 17), name=f"孩子{i}")
            for i in range(CHILDREN)]
    policies = [f.policy(db, member=m, product_code="CHILD-ACC", period_code="2026Q2",
                         on=date(2026, 3, 20)) for m in kids]
    db.commit()
    return policies


def _project_id(db) -> int:
    from mutua.catalog.models import Project

    return db.scalar(select(Project.id).where(Project.code == "CHILD"))


def medical(db, policy_id: int, on: date, invoice: str) -> Claim:
    data = ClaimIn(policy_id=policy_id, event_type="accident", event_date=on, place="深圳",
                   description="fell from the climbing frame",
                   items=[{"benefit_code": "medical", "invoice_amount": invoice}])
    return claims_first_notice.report(db, data=data, actor=SYSTEM, on=on)


def close(db, quarter: str, today: date) -> dict:
    s = service.close_quarter(db, project_code="CHILD", quarter=quarter, actor=SYSTEM,
                              today=today)
    db.commit()
    assert_statement_adds_up(s)
    assert_books_balance(db)
    return s


def test_child_2026q3_recomputed_by_hand(db):
    policies = build_child_pool(db)
    start, end = policies[0].cover_start, policies[0].cover_end
    assert (start, end) == (date(2026, 4, 1), date(2027, 3, 31))
    q2 = close(db, "2026Q2", date(2026, 7, 10))
    # 2026Q2: 91 of 365 days earned, 29.00 x 91 / 365 = 7.23 a child
    e2 = CHILDREN * earned_to(D("29.00"), start, end, date(2026, 6, 30))
    assert q2["earned_premium"] == str(e2) == "289.20"
    assert q2["ibnr"] == str(fen(e2 * D("0.55") * D("0.15"))) == "23.86"

    paid_claim = medical(db, policies[0].id, date(2026, 8, 3), "500")
    payments.pay(db, project_code="CHILD", actor=SYSTEM, on=date(2026, 8, 7))
    late = medical(db, policies[1].id, date(2026, 9, 25), "300")  # decided on report
    db.commit()
    late_decided = db.get(Claim, late.id)
    assert late_decided.status == "decided"
    payments.pay(db, project_code="CHILD", actor=SYSTEM, on=date(2026, 10, 2))
    db.commit()
    s = close(db, "2026Q3", date(2026, 10, 15))

    # Earned premium: cumulative at 30 Sept (183 days: 14.54) less at 30 June (7.23).
    e3 = CHILDREN * (earned_to(D("29.00"), start, end, date(2026, 9, 30))
                     - earned_to(D("29.00"), start, end, date(2026, 6, 30)))
    assert s["earned_premium"] == str(e3) == "292.40"
    # Uplift premium earned: each uplift the 2026Q2 close bought from 1 July, earned daily
    # to the end of its policy's cover.
    uplifts = db.scalars(select(SumInsuredUplift).where(SumInsuredUplift.quarter == "2026Q2")
                         ).all()
    u3 = sum((earned_to(u.money, u.effective_from, end, date(2026, 9, 30)) for u in uplifts),
             D(0))
    assert D(s["uplift_premium_earned"]) == u3 and u3 > 0
    # Claims: one paid in August; one approved in September and paid in October sits in
    # claims payable at the quarter's end. No case reserve is open.
    paid = db.get(Claim, paid_claim.id).approved
    payable = late_decided.approved
    assert s["claims_paid"] == str(paid) and s["claims_payable_change"] == str(payable)
    assert s["case_reserve_change"] == "0.00"
    # IBNR: Bornhuetter-Ferguson on the filed pattern, the pool being one quarter old:
    # 292.40 x 0.55 x 15% + 289.20 x 0.55 x 4% = 24.123 + 6.3624 = 30.49 (rounded once).
    ibnr = fen(e3 * D("0.55") * D("0.15") + e2 * D("0.55") * D("0.04"))
    assert s["ibnr"] == str(ibnr) == "30.49"
    assert s["ibnr_change"] == str(ibnr - D("23.86"))
    basis = s["ibnr_basis"]
    # (its triangle starts with its first claim, in 2026Q3)
    assert basis["method"] == "bf_filed" and basis["development_quarters"] == 1
    assert basis["reason"] == "the pool has 1 development quarter (needs 4)"
    incurred = paid + payable + (ibnr - D("23.86"))
    assert s["claims_incurred"] == str(incurred)
    # Premium deficiency: unearned premium at 30 Sept against the cover still to run (182
    # days) at each child's own rate on its sum insured, uplifts included, plus 15% costs.
    unearned = CHILDREN * (D("29.00") - earned_to(D("29.00"), start, end, date(2026, 9, 30)))
    unearned += sum((u.money - earned_to(u.money, u.effective_from, end, date(2026, 9, 30))
                     for u in uplifts), D(0))
    benefits = {b.id: b for b in db.scalars(select(Benefit))}
    claims = D(0)
    for p in db.scalars(select(Policy)):
        for b in benefits.values():
            claims += (fen(b.base_sum_insured * p.coefficient) * b.pure_risk_rate
                       / p.coefficient * 182 / 365)
    for u in uplifts:
        coefficient = db.get(Policy, u.policy_id).coefficient
        claims += u.sum_insured_added * benefits[u.benefit_id].pure_risk_rate / coefficient \
            * 182 / 365
    pdt = s["premium_deficiency"]
    assert pdt["unearned_premium"] == str(unearned)
    assert pdt["expected_claims"] == str(fen(claims))
    assert pdt["expected_costs"] == str(fen(CHILDREN * (D("29.00") - D("14.54")) * D("0.15")))
    shortfall = max(D("0.00"), fen(claims) + D(pdt["expected_costs"]) - unearned)
    assert pdt["shortfall"] == s["unexpired_risk_reserve"] == str(shortfall)
    urr_change = shortfall - D(q2["unexpired_risk_reserve"])
    # Expenses: none recorded, so the loading cap, 15% of earned premium.
    expenses = fen(e3 * D("0.15"))
    assert s["expenses"] == s["expense_cap"] == str(expenses) == "43.86"
    result = e3 + u3 - incurred - urr_change - expenses
    assert s["result"] == str(result)
    # The stabilisation reserve: 20% of a positive result, at least up to the minimum (5%
    # of annualised earned premium), never beyond the target (15%).
    before = D(q2["reserve_after"])
    annual = e3 * 4
    minimum = (annual * D("0.05")).quantize(D("0.01"), rounding=ROUND_DOWN)
    target = (annual * D("0.15")).quantize(D("0.01"), rounding=ROUND_DOWN)
    if result > 0:
        wanted = max(minimum - before, (result * D("0.20")).quantize(D("0.01"), ROUND_DOWN))
        set_aside = max(D(0), min(result, wanted, target - before))
        assert s["reserve_set_aside"] == str(set_aside)
        assert s["surplus"] == str(result - set_aside)
        assert s["reserve_after"] == str(before + set_aside)
    # Aid goes to the claimants approved in the quarter, both of them, the late one too.
    aided = {m for (m,) in db.execute(select(AidPayment.member_id).join(
        Close, Close.id == AidPayment.close_id).where(Close.quarter == "2026Q3")).all()}
    assert s["claimants"] == 2
    if D(s["allocations"]["aid"]) > 0:
        assert policies[1].member_id in aided
    # The books at the quarter's end hold the same reserves as the statement.
    for account, want in ((L.IBNR_RESERVE, ibnr), (L.CLAIMS_PAYABLE, payable),
                          (L.UNEXPIRED_RISK_RESERVE, shortfall)):
        assert -ledger_service.balance_of(db, project_id=policies[0].project_id,
                                          account=account, as_of=date(2026, 9, 30)) == want
