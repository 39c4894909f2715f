"""The quarterly close through the service on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mutua.auth.security import SYSTEM
from mutua.errors import Conflict, NotFound, ValidationFailed
from mutua.ledger.models import Entry
from mutua.policies import cover as policy_cover
from mutua.policies.models import SumInsuredUplift
from mutua.settlement import service
from mutua.settlement.models import AidPayment, AllocationPolicy, Close, SettlementConfig
from tests.integration.settlement.conftest import (
    AFTER_Q1,
    CODE,
    assert_books_balance,
    assert_statement_adds_up,
    build_pool,
    medical_claim,
)

D = Decimal


def close(db, quarter="2025Q1", today=AFTER_Q1, **kw):
    s = service.close_quarter(db, project_code=CODE, quarter=quarter, actor=SYSTEM,
                              today=today, **kw)
    db.commit()
    return s


def test_close_shares_the_surplus_to_the_fen(db, pool):
    s = close(db)
    # 6 policies x 365.00 over 365 days; 85 days of cover in 2025Q1 (6 Jan - 31 Mar)
    assert s["earned_premium"] == "510.00"
    assert D(s["claims_paid"]) > 0
    assert D(s["surplus"]) > 0 and s["distributable"] == s["surplus"]
    a = s["allocations"]
    assert (D(a["uplift"]) + D(a["carried"]) + D(a["aid"]) + D(a["services"])
            == D(s["distributable"]))
    assert a["carried"] == s["uplift_carried"]
    assert all(g["passed"] for g in s["gates"])
    # uplift rows hold exactly the uplift pot; every policy in force on 1 April shares it
    money = db.scalar(select(func.sum(SumInsuredUplift.money)))
    assert D(money) == D(a["uplift"])
    assert s["policies_uplifted"] == 6 and s["members_uplifted"] == 6
    assert D(s["sum_insured_added"]) > D(a["uplift"])  # money buys far more cover
    # aid never above the uncovered loss
    for aid, loss in db.execute(select(AidPayment.aid, AidPayment.uncovered_loss)).all():
        assert 0 < aid <= loss
    assert s["claimants_aided"] == 1
    assert_books_balance(db)


def test_uplift_raises_cover_from_the_next_quarter(db, pool):
    close(db)
    p = pool.policies[1]
    before = policy_cover.cover_on(db, policy_id=p.id, on=date(2025, 3, 31))
    after = policy_cover.cover_on(db, policy_id=p.id, on=date(2025, 4, 1))
    death_before = next(b for b in before.benefits if b.code == "death")
    death_after = next(b for b in after.benefits if b.code == "death")
    assert death_after.sum_insured > death_before.sum_insured


def test_member_statement(db, pool):
    close(db)
    m = pool.members[0]
    st = service.member_statement(db, member_id=m.id, actor=SYSTEM)
    q = st["quarters"][0]
    assert q["quarter"] == "2025Q1" and q["contribution"] == "85.00"
    assert D(q["uplift"]) > 0 and D(q["aid"]) > 0
    row = q["uplift_policies"][0]
    assert row["policy_id"] == pool.policies[0].id
    assert {b["benefit"] for b in row["benefits"]} == {"death", "medical", "sudden_death"}
    assert D(row["money"]) == sum(D(b["money"]) for b in row["benefits"])


def test_rerun_returns_the_existing_close(db, pool):
    first = close(db)
    entries = db.scalar(select(func.count(Entry.id)))
    uplifts = db.scalar(select(func.count(SumInsuredUplift.id)))
    again = close(db)
    assert again["rerun"] is True
    assert {k: v for k, v in again.items() if k != "rerun"} == first
    assert db.scalar(select(func.count(Entry.id))) == entries
    assert db.scalar(select(func.count(SumInsuredUplift.id))) == uplifts


def test_dry_run_writes_nothing(db, pool):
    counts = [db.scalar(select(func.count()).select_from(t)) for t in
              (Close, Entry, SumInsuredUplift, AidPayment, SettlementConfig, AllocationPolicy)]
    s = service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                              today=AFTER_Q1, dry_run=True)
    db.commit()
    assert s["dry_run"] is True and D(s["distributable"]) > 0
    assert counts == [db.scalar(select(func.count()).select_from(t)) for t in
                      (Close, Entry, SumInsuredUplift, AidPayment, SettlementConfig,
                       AllocationPolicy)]
    real = close(db)
    assert {k: v for k, v in real.items() if k != "dry_run"} == {
        k: v for k, v in s.items() if k != "dry_run"}


def test_deficit_is_drawn_from_the_reserve_then_carried_and_made_good(db, pool):
    q1 = close(db)
    assert D(q1["reserve_after"]) > 0
    # a heavy quarter: claims paid in 2025Q2 far above its premium
    for p in pool.policies[:4]:
        medical_claim(db, p.id, on=date(2025, 5, 10), invoice="2000")
    from mutua.claims import payments
    payments.pay(db, project_code=CODE, actor=SYSTEM, on=date(2025, 5, 20))
    db.commit()
    q2 = close(db, "2025Q2", date(2025, 7, 5))
    assert D(q2["result"]) < 0
    assert q2["reserve_drawn"] == q1["reserve_after"] and q2["reserve_after"] == "0.00"
    assert D(q2["deficit_after"]) == -D(q2["result"]) - D(q1["reserve_after"])
    assert q2["distributable"] == "0.00"
    assert not next(g for g in q2["gates"] if g["name"] == "solvency")["passed"]
    q3 = close(db, "2025Q3", date(2025, 10, 5))
    made_good = min(D(q2["deficit_after"]), D(q3["result"]))
    assert D(q3["deficit_made_good"]) == made_good
    for statement in (q1, q2, q3):
        assert_statement_adds_up(statement)
    assert_books_balance(db)


def test_bad_inputs_store_nothing(db, pool):
    with pytest.raises(ValidationFailed, match="has not ended"):
        service.close_quarter(db, project_code=CODE, quarter="2025Q2", actor=SYSTEM,
                              today=date(2025, 6, 30))
    with pytest.raises(NotFound):
        service.close_quarter(db, project_code="NOPE", quarter="2025Q1", actor=SYSTEM,
                              today=AFTER_Q1)
    with pytest.raises(ValidationFailed):
        service.close_quarter(db, project_code=CODE, quarter="2025-Q1", actor=SYSTEM,
                              today=AFTER_Q1)
    with pytest.raises(ValidationFailed, match="100%"):
        service.adopt_allocation_policy(db, project_id=pool.project_id, uplift=D("0.7"),
                                        aid=D("0.2"), services=D("0.2"), effective_from="2025Q1",
                                        source="test", actor=SYSTEM)
    db.rollback()
    assert db.scalar(select(func.count(Close.id))) == 0
    assert db.scalar(select(func.count(AllocationPolicy.id))) == 0


def test_closed_quarter_is_never_edited(db, pool):
    close(db)
    with pytest.raises(ValidationFailed, match="already closed"):
        service.adopt_allocation_policy(db, project_id=pool.project_id, uplift=D("0.5"),
                                        aid=D("0.3"), services=D("0.2"), effective_from="2025Q1",
                                        source="vote", actor=SYSTEM)
    service.configure(db, project_code=CODE, actor=SYSTEM, reserve_contribution_rate=D("0.5"))
    db.commit()
    with pytest.raises(Conflict, match="different inputs"):
        close(db)
    # the new policy and settings apply from the next quarter
    service.adopt_allocation_policy(db, project_id=pool.project_id, uplift=D("0.5"),
                                    aid=D("0.3"), services=D("0.2"), effective_from="2025Q2",
                                    source="vote", actor=SYSTEM)
    db.commit()
    q2 = close(db, "2025Q2", date(2025, 7, 5))
    assert q2["allocation_policy"]["version"] == 2 and q2["allocation_policy"]["uplift"] == "0.5000"


def test_quarters_close_in_order(db, pool):
    close(db)
    with pytest.raises(Conflict, match="close 2025Q2 first"):
        close(db, "2025Q3", date(2025, 10, 5))
    close(db, "2025Q2", date(2025, 10, 5))
    with pytest.raises(Conflict, match="later quarter"):
        service.close_quarter(db, project_code=CODE, quarter="2024Q4", actor=SYSTEM,
                              today=AFTER_Q1)


def test_start_up_costs_gate_holds_the_surplus_back(db, pool):
    service.configure(db, project_code=CODE, actor=SYSTEM, startup_costs=D("1000000"))
    db.commit()
    s = close(db)
    gate = next(g for g in s["gates"] if g["name"] == "start_up_costs")
    assert not gate["passed"] and "outstanding" in gate["reason"]
    assert s["distributable"] == "0.00" and s["start_up_costs_recovered"] == s["surplus"]
    assert_books_balance(db)


def test_operating_fund_repayment_waits_for_reserve_plus_surplus(db, pool):
    service.configure(db, project_code=CODE, actor=SYSTEM, operating_fund=D("10000000"),
                      operating_fund_borrowed=True, operating_fund_instalment=D("100"),
                      operating_fund_repayment_approved=True)
    db.commit()
    s = close(db)
    gate = next(g for g in s["gates"] if g["name"] == "operating_fund")
    assert not gate["passed"] and "retained" in gate["reason"]
    assert s["undistributed_after"] == s["surplus"] and s["distributable"] == "0.00"


def test_list_closes(db, pool):
    close(db)
    items, total = service.list_closes(db, project_code=CODE)
    assert total == 1 and items[0]["quarter"] == "2025Q1"
    with pytest.raises(NotFound):
        service.list_closes(db, project_code="NOPE")


def test_the_list_of_closes_reads_the_close_row_not_its_statement(db, pool):
    s = close(db)
    told = service.list_closes(db, project_code=CODE)[0][0]
    for key in ("surplus", "earned_premium", "claims_incurred", "result", "loss_ratio",
                "reserve_drawn", "distributable", "reserve_after"):
        assert told[key] == s[key], key
    db.execute(Close.__table__.update().values(statement={}))
    db.commit()
    db.expire_all()
    assert service.list_closes(db, project_code=CODE)[0][0] == told


def test_two_projects_keep_their_own_books(db):
    build_pool(db, code="POOL-A")
    build_pool(db, code="POOL-B", claims=0)
    for code in ("POOL-A", "POOL-B"):
        service.close_quarter(db, project_code=code, quarter="2025Q1", actor=SYSTEM,
                              today=AFTER_Q1)
    db.commit()
    a = service.project_statement(db, project_code="POOL-A", quarter="2025Q1")
    b = service.project_statement(db, project_code="POOL-B", quarter="2025Q1")
    assert a["claims_paid"] != "0.00" and b["claims_paid"] == "0.00"
    assert b["claimants"] == 0 and D(b["allocations"]["aid"]) == 0  # aid went back to uplift
    assert D(b["allocations"]["aid_returned_to_uplift"]) > 0
    assert_books_balance(db)


def test_demo_closes_every_complete_quarter(db):
    import numpy as np

    from mutua.settlement import demo

    build_pool(db, members=8)
    out = demo.build(db, rng=np.random.default_rng(3), today=date(2025, 10, 20), actor=SYSTEM)
    db.commit()
    assert out["closes"] == 3  # 2025Q1..Q3
    assert [c["quarter"] for c in service.list_closes(db, project_code=CODE)[0]] == [
        "2025Q1", "2025Q2", "2025Q3"]
    assert out["policies_uplifted"] > 0
    # the pool earns a surplus, so the demo stages a hard last quarter its reserve covers
    assert out["hard_quarter"]["quarter"] == "2025Q3"
    assert [d["quarter"] for d in out["deficits_covered_by_reserve"]] == ["2025Q3"]
    assert out["claimants_aided"] >= 1
    # every quarter records what running the pool cost, by category, against the cap
    for quarter in ("2025Q1", "2025Q2", "2025Q3"):
        s = service.project_statement(db, project_code=CODE, quarter=quarter)
        assert {x["category"] for x in s["expenses_by_category"]} >= {
            "staff", "systems", "member_services"}
        assert D(s["expenses"]) == min(D(s["expenses_actual"]), D(s["expense_cap"]))
    assert_books_balance(db)


def test_the_policy_read_model_shows_the_cover_claims_are_paid_against(db, pool):
    """The routes' read model (policies.views) and the claims' cover (covers_of) agree."""
    from mutua.dates import today
    from mutua.policies import views

    close(db)
    ids = [p.id for p in pool.policies]
    shown = views.by_ids(db, list(reversed(ids)))
    assert [v.id for v in shown] == list(reversed(ids))  # in the order asked for
    covers = policy_cover.covers_of(db, policies=pool.policies,
                                    on_for=lambda p: max(p.cover_start, today()))
    for view in shown:
        cover = covers[view.id]
        assert [(b.code, b.kind, b.sum_insured, b.base_sum_insured, b.uplift)
                for b in view.benefits] == [
            (b.code, b.kind, b.sum_insured, b.base_sum_insured, b.uplift) for b in cover.benefits]
        assert any(b.uplift > 0 for b in view.benefits)
        assert D(sum(u.money for u in view.uplifts)) > 0
    member = pool.policies[0].member_id
    page, total = views.member_page(db, member_id=member, limit=1, offset=0)
    assert total == sum(p.member_id == member for p in pool.policies)
    assert page == [v for v in shown if v.id == page[0].id]
