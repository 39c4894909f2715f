"""One uplift rate per close (DOMAIN.md section 3, "Converting surplus into sum insured"),
through the service on SQLite and PostgreSQL.

The pool: a 365-day accident product sold from April 2024, closed for 2025Q1, so on the
uplift day (1 April 2025) some policies have a year left, one has 31 days, some fewer than
the 30 the product asks for, one ended and one was cancelled; one member is a class-6
delivery rider (coefficient 0.125).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from mutua.auth.security import SYSTEM
from mutua.claims import payments
from mutua.policies import cancellation
from mutua.policies import cover as policy_cover
from mutua.policies.models import SumInsuredUplift
from mutua.settlement import service
from mutua.settlement.models import Close
from tests import factories as f
from tests.integration.settlement.conftest import assert_books_balance, medical_claim

D = Decimal
CODE = "UPLIFT-ACC"
UPLIFT_DAY = date(2025, 4, 1)
AFTER_Q1 = date(2025, 4, 15)
# enrolment day -> days of cover left on the uplift day (cover starts the next day, 365 days)
ENROLMENTS = {"year_left": date(2025, 2, 1), "thirty_one_days": date(2024, 5, 1),
              "twenty_days": date(2024, 4, 20), "two_days": date(2024, 4, 2),
              "rider": date(2025, 2, 1), "cancelled": date(2025, 1, 10)}


@pytest.fixture
def pool(db):
    product = f.accident_project(db, code=CODE, today=date(2024, 4, 1),
                                 sale_start=date(2024, 4, 1), sale_end=date(2025, 3, 31))
    out = {}
    for name, on in ENROLMENTS.items():
        m = f.member(db, occupation="F0601" if name == "rider" else "A0103",
                     login=name == "year_left")
        out[name] = f.policy(db, member=m, product_code=product.code, on=on)
    cancellation.cancel(db, policy_id=out["cancelled"].id, actor=SYSTEM,
                        on=date(2025, 3, 15))
    medical_claim(db, out["year_left"].id, on=date(2025, 2, 10), invoice="150")
    payments.pay(db, project_code=CODE, actor=SYSTEM, on=date(2025, 2, 20))
    db.commit()
    return out


def close(db, quarter="2025Q1", today=AFTER_Q1):
    s = service.close_quarter(db, project_code=CODE, quarter=quarter, actor=SYSTEM, today=today)
    db.commit()
    return s


def rises(db, pool) -> dict[str, dict[str, tuple[Decimal, Decimal]]]:
    """Per policy name and benefit: (sum insured before the uplift, sum insured added)."""
    out = {}
    for name, p in pool.items():
        before = policy_cover.cover_on(db, policy_id=p.id, on=date(2025, 3, 31))
        rows = db.execute(select(SumInsuredUplift.benefit_id, SumInsuredUplift.sum_insured_added)
                          .where(SumInsuredUplift.policy_id == p.id)).all()
        added = dict(rows)
        if added:
            out[name] = {b.code: (b.sum_insured, D(added[b.benefit_id]))
                         for b in before.benefits if b.benefit_id in added}
    return out


def test_every_eligible_policy_rises_by_the_same_rate_and_none_near_its_end_by_more(db, pool):
    s = close(db)
    got = rises(db, pool)
    ratios = {name: added / si for name, by in got.items() for si, added in by.values()}
    # the same rise for a policy with a year left, one with 31 days and the rider (before,
    # a policy near its end bought cover at m / (r x t): many times the others' rise)
    assert max(ratios.values()) / min(ratios.values()) < D("1.0001")
    assert set(got) == {"year_left", "thirty_one_days", "rider"}
    u = D(s["uplift_rate"])
    for by in got.values():
        for si, added in by.values():  # u x SI to the fen below
            assert u * si - D("0.01") < added <= u * si
    assert s["uplift_rate_percent"] == str((u * 100).quantize(D("0.01")))
    assert s["policies_in_force_next_quarter"] == 5  # the cancelled one ended in March
    assert s["policies_eligible"] == 3 and s["policies_too_few_days_left"] == 2
    assert s["policies_uplifted"] == 3
    assert {r["product"]: r["min_uplift_days"] for r in s["uplift_rules"]} == {f"{CODE}-1": 30}


def test_the_money_is_what_each_rise_costs_at_the_policys_own_rate(db, pool):
    s = close(db)
    rows = db.execute(select(SumInsuredUplift.policy_id, SumInsuredUplift.money,
                             SumInsuredUplift.sum_insured_added)).all()
    money = {pid: D(0) for pid, *_ in rows}
    for pid, m, _si in rows:
        money[pid] += m
    # the rider's cover is an eighth of the clerk's, at 8 times the risk per yuan: the same
    # rise costs the same premium (to the fen) for the same days left
    assert abs(money[pool["rider"].id] - money[pool["year_left"].id]) <= D("0.03")
    # 31 days left cost about 31/365 of a year's
    assert money[pool["thirty_one_days"].id] < money[pool["year_left"].id] / 8
    a = s["allocations"]
    assert D(a["uplift"]) == sum(money.values())
    assert D(a["uplift"]) + D(a["carried"]) + D(a["aid"]) + D(a["services"]) == D(
        s["distributable"])
    assert_books_balance(db)


def test_the_close_records_the_rate_and_members_read_their_own_rise_or_why_not(db, pool):
    s = close(db)
    row = db.scalar(select(Close).where(Close.quarter == "2025Q1"))
    assert row.uplift_rate == D(s["uplift_rate"]) > 0
    assert row.uplift_carried == D(s["uplift_carried"])
    by_policy = {}
    for p in pool.values():
        st = service.member_statement(db, member_id=p.member_id, actor=SYSTEM)
        (q,) = st["quarters"]
        assert q["uplift_rate"] == s["uplift_rate"]
        for r in q["uplift_policies"]:
            by_policy[r["policy_id"]] = ("raised", r)
        for r in q["not_uplifted"]:
            by_policy[r["policy_id"]] = (r["reason"], r)
    assert {name: by_policy[p.id][0] for name, p in pool.items()} == {
        "year_left": "raised", "thirty_one_days": "raised", "rider": "raised",
        "twenty_days": "too_few_days", "two_days": "too_few_days", "cancelled": "cancelled"}
    twenty = by_policy[pool["twenty_days"].id][1]
    assert (twenty["days_left"], twenty["min_uplift_days"]) == (20, 30)
    rider = by_policy[pool["rider"].id][1]
    assert rider["rate"] == s["uplift_rate"]
    for b in rider["benefits"]:
        assert D(b["sum_insured_after"]) == D(b["sum_insured_before"]) + D(b["sum_insured_added"])


def test_the_cap_carries_the_remainder_to_the_next_close_and_the_books_show_it(db, pool):
    from mutua.catalog.models import Product

    product = db.scalar(select(Product).where(Product.code == f"{CODE}-1"))
    product.max_uplift_rate = D("0.001")  # a tenth of a per cent at most
    db.commit()
    q1 = close(db)
    assert q1["uplift_rate"] == "0.00100000" and q1["uplift_rate_capped"] is True
    carried = D(q1["uplift_carried"])
    assert carried > 0 and q1["allocations"]["carried"] == q1["uplift_carried"]
    assert D(q1["undistributed_after"]) >= carried
    q2 = close(db, "2025Q2", date(2025, 7, 15))
    # the money carried is part of the next distributable surplus and goes to uplift first
    assert D(q2["allocations"]["carried_in"]) == carried
    assert D(q2["undistributed_before"]) == D(q1["undistributed_after"])
    assert D(q2["allocations"]["uplift_pot"]) >= carried
    assert_books_balance(db)


def test_policies_are_raised_from_the_sum_insured_earlier_uplifts_left(db, pool):
    close(db)
    first = rises(db, pool)["year_left"]["death"]
    s2 = close(db, "2025Q2", date(2025, 7, 15))
    cover = policy_cover.cover_on(db, policy_id=pool["year_left"].id, on=date(2025, 6, 30))
    death = next(b for b in cover.benefits if b.code == "death")
    assert death.sum_insured == first[0] + first[1]
    added = db.execute(select(SumInsuredUplift.sum_insured_added).where(
        SumInsuredUplift.policy_id == pool["year_left"].id, SumInsuredUplift.quarter == "2025Q2",
        SumInsuredUplift.benefit_id == death.benefit_id)).scalar()
    u = D(s2["uplift_rate"])
    assert u * death.sum_insured - D("0.01") < added <= u * death.sum_insured
