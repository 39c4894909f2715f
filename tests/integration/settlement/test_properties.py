"""Property: after any sequence of claims, cancellations and closes, every project's books
balance, the allocations (uplift, carried, aid, services) add up to the distributable
surplus to the fen, the money one close carries is what the next one takes in, and no aid
exceeds the member's uncovered loss."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mutua.auth.security import SYSTEM
from mutua.claims import payments
from mutua.ledger import service as ledger_service
from mutua.policies import cancellation
from mutua.policies.models import SumInsuredUplift
from mutua.settlement import service
from mutua.settlement.models import AidPayment, Close
from tests.integration.settlement.conftest import (
    assert_statement_adds_up,
    build_pool,
    medical_claim,
)

_codes = itertools.count(1)
QUARTERS = [("2025Q1", date(2025, 1, 6)), ("2025Q2", date(2025, 4, 1)),
            ("2025Q3", date(2025, 7, 1))]

event = st.tuples(st.integers(0, 2), st.integers(0, 80), st.integers(0, 5),
                  st.sampled_from(["claim", "claim", "cancel"]), st.integers(150, 4000))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(members=st.integers(2, 6), events=st.lists(event, max_size=6),
       aid_share=st.sampled_from(["0.20", "0.50", "0"]))
def test_books_balance_after_any_sequence_of_closes(db, members, events, aid_share):
    code = f"PROP-{next(_codes)}"
    pool = build_pool(db, members=members, code=code, claims=0)
    aid = Decimal(aid_share)
    service.adopt_allocation_policy(db, project_id=pool.project_id, uplift=Decimal("0.9") - aid,
                                    aid=aid, services=Decimal("0.1"), effective_from="2025Q1",
                                    source="test", actor=SYSTEM)
    cancelled, reported = set(), set()
    carried = Decimal(0)
    for qi, (quarter, start) in enumerate(QUARTERS):
        for q, day, who, kind, amount in sorted(events):
            if q != qi:
                continue
            on = start + timedelta(days=day)
            policy = pool.policies[who % members]
            if kind == "cancel" and policy.id not in cancelled:
                cancellation.cancel(db, policy_id=policy.id, actor=SYSTEM, on=on)
                cancelled.add(policy.id)
            elif kind == "claim" and policy.id not in cancelled \
                    and (policy.id, on) not in reported:  # one report per event
                reported.add((policy.id, on))
                medical_claim(db, policy.id, on=on, invoice=str(amount))
        payments.pay(db, project_code=code, actor=SYSTEM, on=start + timedelta(days=85))
        db.commit()
        s = service.close_quarter(db, project_code=code, quarter=quarter, actor=SYSTEM,
                                  today=date(2025, 12, 31))
        db.commit()
        assert_statement_adds_up(s)
        a = {k: Decimal(v) for k, v in s["allocations"].items()}
        assert a["uplift"] + a["carried"] + a["aid"] + a["services"] == Decimal(
            s["distributable"])
        assert a["carried_in"] == min(carried, Decimal(s["distributable"]))
        carried = Decimal(s["uplift_carried"])
        uplift = db.scalar(select(func.sum(SumInsuredUplift.money)).where(
            SumInsuredUplift.project_id == pool.project_id,
            SumInsuredUplift.quarter == quarter)) or Decimal(0)
        assert Decimal(uplift) == a["uplift"]
        close_id = db.scalar(select(Close.id).where(Close.project_id == pool.project_id,
                                                    Close.quarter == quarter))
        for granted, loss in db.execute(select(AidPayment.aid, AidPayment.uncovered_loss)
                                        .where(AidPayment.close_id == close_id)).all():
            assert 0 < granted <= loss
        for tb in ledger_service.trial_balance(db):
            assert tb.total == 0
