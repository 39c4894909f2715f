"""Reserving in the close (issue 21 items 1, 2 and 7): IBNR on the filed reporting pattern,
the premium deficiency test, aid by approval quarter, uplift returned on cancellation."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from mutua.auth.security import SYSTEM
from mutua.catalog.models import Benefit
from mutua.claims import payments
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.money import round_fen
from mutua.policies import cancellation
from mutua.policies import domain as policies_domain
from mutua.policies.models import Policy, SumInsuredUplift
from mutua.settlement import service
from mutua.settlement.models import AidPayment, Close, CloseReserving
from tests.integration.settlement.conftest import (
    AFTER_Q1,
    CODE,
    assert_books_balance,
    assert_statement_adds_up,
    medical_claim,
)

D = Decimal


def close(db, quarter="2025Q1", today=AFTER_Q1):
    s = service.close_quarter(db, project_code=CODE, quarter=quarter, actor=SYSTEM, today=today)
    db.commit()
    assert_statement_adds_up(s)
    assert_books_balance(db)
    return s


def balance(db, pool, account: str) -> Decimal:
    return ledger_service.balance_of(db, project_id=pool.project_id, account=account)


def test_a_young_pool_books_ibnr_from_the_filed_pattern(db, pool):
    # One origin quarter, every claim reported in it: the pool's own triangle develops by a
    # factor of 1, which booked no IBNR. The filed pattern leaves 15% unreported at the
    # accident quarter's end and 4% a quarter later; a priori loss ratio 0.60.
    q1 = close(db)
    assert q1["ibnr_basis"]["method"] == "bf_filed"
    assert q1["ibnr_basis"]["reason"] == "the pool has 1 development quarter (needs 4)"
    assert q1["ibnr_basis"]["filed_pattern"][:2] == ["0.150000", "0.040000"]
    assert q1["ibnr"] == q1["ibnr_basis"]["bornhuetter_ferguson"] == "45.90"  # 510 x .6 x .15
    assert q1["ibnr_basis"]["chainladder"] == "0.00"
    q2 = close(db, "2025Q2", date(2025, 7, 5))
    # 2025Q2 earned 546.00 (91 days): 546 x 0.6 x 0.15 + 510 x 0.6 x 0.04 = 49.14 + 12.24
    assert q2["earned_premium"] == "546.00"
    assert q2["ibnr"] == "61.38" and q2["ibnr_change"] == "15.48"
    assert -balance(db, pool, L.IBNR_RESERVE) == D("61.38")
    row = db.scalar(select(CloseReserving).join(Close, Close.id == CloseReserving.close_id)
                    .where(Close.quarter == "2025Q2"))
    assert (row.ibnr_method, row.ibnr_bf, row.ibnr_chainladder) == ("bf_filed", D("61.38"), 0)
    assert row.development_quarters == 2 and row.claims_reported == 1


def _expected_unexpired_claims(db, as_of: date, closed: str) -> Decimal:
    """The premium deficiency test's expected claims, policy by policy (the close does it
    with one GROUP BY): each benefit's sum insured (base x coefficient, plus uplifts of
    earlier closes) x the policy's own rate (pure rate / coefficient) x days of cover left
    / 365. The uplift the ``closed`` quarter's close declared is bought at exactly its
    pure risk cost, so the test runs on the cover before it."""
    def left(start: date, end: date) -> int:
        return max(0, (end - start).days + 1 if start > as_of else (end - as_of).days)

    exact = D(0)
    for p in db.scalars(select(Policy)):
        for b in db.scalars(select(Benefit).where(Benefit.product_id == p.product_id)):
            rate = b.pure_risk_rate / p.coefficient
            exact += (round_fen(b.base_sum_insured * p.coefficient) * rate
                      * left(p.cover_start, p.cover_end) / 365)
        for u in db.scalars(select(SumInsuredUplift).where(
                SumInsuredUplift.policy_id == p.id, SumInsuredUplift.quarter != closed)):
            rate = db.get(Benefit, u.benefit_id).pure_risk_rate / p.coefficient
            exact += u.sum_insured_added * rate * left(u.effective_from, p.cover_end) / 365
    return exact.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def test_premium_deficiency_is_held_as_an_unexpired_risk_reserve(db, pool):
    # The actuary re-rates the cover half as risky again after the policies were sold: the
    # unexpired cover's claims and costs now exceed the premium still to be earned.
    db.execute(Benefit.__table__.update().values(
        pure_risk_rate=Benefit.__table__.c.pure_risk_rate * D("1.5")))
    db.commit()
    q1 = close(db)
    pdt = q1["premium_deficiency"]
    assert pdt["unearned_premium"] == "1680.00"  # 6 x (365.00 - 85.00 earned)
    assert pdt["expected_costs"] == "252.00"  # 15% of it
    assert D(pdt["expected_claims"]) == _expected_unexpired_claims(db, date(2025, 3, 31), "2025Q1")
    shortfall = D(pdt["expected_claims"]) + D("252.00") - D("1680.00")
    assert shortfall > 0 and pdt["shortfall"] == q1["unexpired_risk_reserve"] == str(shortfall)
    assert q1["unexpired_risk_change"] == str(shortfall)
    assert -balance(db, pool, L.UNEXPIRED_RISK_RESERVE) == shortfall
    assert balance(db, pool, L.UNEXPIRED_RISK_CHANGE) == shortfall
    # The next close holds the test again on what is left, uplifts included; only the
    # change is charged to its result.
    q2 = close(db, "2025Q2", date(2025, 7, 5))
    assert D(q2["premium_deficiency"]["expected_claims"]) == _expected_unexpired_claims(
        db, date(2025, 6, 30), "2025Q2")
    assert q2["unexpired_risk_reserve_before"] == q1["unexpired_risk_reserve"]
    assert -balance(db, pool, L.UNEXPIRED_RISK_RESERVE) == D(q2["unexpired_risk_reserve"])


def test_no_shortfall_when_the_premium_covers_the_unexpired_cover(db, pool):
    q1 = close(db)
    pdt = q1["premium_deficiency"]
    assert D(pdt["expected_claims"]) + D(pdt["expected_costs"]) < D(pdt["unearned_premium"])
    assert pdt["shortfall"] == "0.00"
    assert q1["unexpired_risk_change"] == "0.00"
    assert balance(db, pool, L.UNEXPIRED_RISK_RESERVE) == 0


def test_aid_follows_the_quarter_a_claim_was_approved_in(db, pool):
    # Decided on 28 March, paid in the batch of 4 April: aid from the 2025Q1 close.
    late = pool.policies[3]
    claim = medical_claim(db, late.id, on=date(2025, 3, 28), invoice="300")
    assert claim.status == "decided"
    payments.pay(db, project_code=CODE, actor=SYSTEM, on=date(2025, 4, 4))
    db.commit()
    q1 = close(db)
    aided = {m for (m,) in db.execute(select(AidPayment.member_id)).all()}
    assert late.member_id in aided and q1["claimants"] == 2
    q2 = close(db, "2025Q2", date(2025, 7, 5))
    assert q2["claimants"] == 0  # paid in Q2, aided once, in Q1


def test_a_cancelled_uplifted_policy_returns_its_unearned_uplift_to_the_pool(db, pool):
    q1 = close(db)
    assert q1["policies_uplifted"] == 6
    p = pool.policies[5]
    end_before = p.cover_end
    uplifts = db.scalars(select(SumInsuredUplift).where(SumInsuredUplift.policy_id == p.id)).all()
    money = {u.id: u.money for u in uplifts}
    cancellation.cancel(db, policy_id=p.id, actor=SYSTEM, on=date(2025, 5, 15))
    db.commit()
    db.refresh(p)
    want = sum(D(policies_domain.returned_uplift(int(money[u.id] * 100), u.effective_from,
                                                 end_before, p.cover_end)) / 100
               for u in uplifts)
    assert want > 0 and sum(u.returned for u in uplifts) == want
    q2 = close(db, "2025Q2", date(2025, 7, 5))
    assert D(q2["uplift_premium_returned"]) == want
    assert -balance(db, pool, L.UPLIFT_PREMIUM_RETURNED) == want
    # the unearned uplift premium left is what the other policies still have to earn
    unearned = -balance(db, pool, L.UNEARNED_UPLIFT_PREMIUM)
    total = sum(u.money - u.returned for u in db.scalars(select(SumInsuredUplift)))
    assert unearned == total - D(q2["uplift_premium_earned"])
    st = service.member_statement(db, member_id=p.member_id, actor=SYSTEM)
    q = next(x for x in st["quarters"] if x["quarter"] == "2025Q2")
    assert q["uplift_returned"] == [{
        "policy_id": p.id, "policy_number": p.policy_number, "cancelled_on": "2025-05-15",
        "cover_end": str(p.cover_end), "returned_to_pool": f"{want:.2f}"}]
