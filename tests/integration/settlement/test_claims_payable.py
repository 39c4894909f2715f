"""Claims incurred = paid + change in claims payable + change in case reserve + change in
IBNR (DOMAIN.md section 3): a claim approved in one quarter and paid in the next counts
once, in the quarter it was decided, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mutua.auth.security import SYSTEM
from mutua.claims import payments
from mutua.claims import service as claims_service
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.settlement import service
from mutua.settlement.models import Close
from tests.integration.settlement.conftest import (
    AFTER_Q1,
    CODE,
    assert_books_balance,
    build_pool,
    medical_claim,
)

D = Decimal
_codes = itertools.count(1)


def close(db, quarter="2025Q1", today=AFTER_Q1, code=CODE):
    s = service.close_quarter(db, project_code=code, quarter=quarter, actor=SYSTEM, today=today)
    db.commit()
    return s


def test_an_approved_unpaid_claim_counts_in_the_quarter_it_was_decided_and_once(db):
    """BUILDER 2026Q3 reported incurred 24,474.40 where paid + change in approved-unpaid +
    change in case reserve + change in IBNR was 321,521.40: a decision released the case
    reserve and the claim sat outside both paid and reserve until the payment batch."""
    pool = build_pool(db)
    late = medical_claim(db, pool.policies[2].id, on=date(2025, 3, 20), invoice="600")
    db.commit()
    approved = late.approved
    assert late.status == "decided" and approved > 0  # decided at report, not yet paid
    q1 = close(db)
    assert D(q1["claims_payable"]) == approved and D(q1["claims_payable_change"]) == approved
    assert D(q1["claims_incurred"]) == (D(q1["claims_paid"]) + D(q1["claims_payable_change"])
                                        + D(q1["case_reserve_change"]) + D(q1["ibnr_change"]))
    assert D(q1["claims_incurred"]) >= D(q1["claims_paid"]) + approved
    payments.pay(db, project_code=CODE, actor=SYSTEM, on=date(2025, 4, 10))
    db.commit()
    q2 = close(db, "2025Q2", date(2025, 7, 5))
    assert D(q2["claims_paid"]) == approved
    assert D(q2["claims_payable"]) == 0 and D(q2["claims_payable_change"]) == -approved
    # paid in Q2, but incurred in Q1: its payment adds nothing to Q2's claims
    assert D(q2["claims_paid"]) + D(q2["claims_payable_change"]) == 0
    assert_books_balance(db)


def test_the_payable_a_close_sees_is_the_quarters_end_even_when_it_runs_later(db):
    pool = build_pool(db)
    medical_claim(db, pool.policies[2].id, on=date(2025, 3, 20), invoice="600")
    db.commit()
    payments.pay(db, project_code=CODE, actor=SYSTEM, on=date(2025, 4, 3))  # before the close
    db.commit()
    s = close(db, today=date(2025, 6, 1))
    assert D(s["claims_payable"]) > 0
    books = -ledger_service.balance_of(db, project_id=pool.project_id, account=L.CLAIMS_PAYABLE,
                                       as_of=date(2025, 3, 31))
    assert D(s["claims_payable"]) == books
    row = db.scalar(select(Close))
    assert row.claims_payable == books


def test_a_close_after_one_that_counted_no_payable_counts_all_of_it_once(db):
    """Closes stored before claims payable counted keep NULL (migration 0004): the next
    close books the whole payable at its end as the change, and says so."""
    pool = build_pool(db)
    close(db)
    db.scalar(select(Close)).claims_payable = None  # as migrated history
    db.commit()
    medical_claim(db, pool.policies[3].id, on=date(2025, 6, 20), invoice="600")
    db.commit()
    q2 = close(db, "2025Q2", date(2025, 7, 5))
    assert q2["claims_payable_first_counted"] is True
    assert q2["claims_payable_before"] == "0.00"
    assert D(q2["claims_payable_change"]) == D(q2["claims_payable"]) > 0


event = st.tuples(st.integers(0, 170), st.sampled_from(["small", "large", "pay"]),
                  st.integers(0, 5))


@settings(max_examples=5, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# One report per policy and day: a second report of the same event is refused as a
# duplicate (claims.first_notice.DuplicateReport), which is not what this property is about.
@given(events=st.lists(event, max_size=8, unique_by=lambda e: (e[0], e[2])))
def test_every_claim_is_in_exactly_one_of_reserve_payable_and_paid(db, events):
    """On any day, case reserve + claims payable + paid to date equal what the books have
    charged as claims (the expense at decision plus the reserve change), and each of the
    three equals its own account."""
    code = f"PAYABLE-{next(_codes)}"
    pool = build_pool(db, code=code, claims=0)
    start = date(2025, 1, 6)
    for day, kind, who in sorted(events):
        on = start + timedelta(days=day)
        if kind == "pay":
            payments.pay(db, project_code=code, actor=SYSTEM, on=on)
        else:  # a large invoice is above the auto-decision limit: it stays open, reserved
            medical_claim(db, pool.policies[who].id, on=on,
                          invoice="900" if kind == "small" else "90000")
    db.commit()
    pid = pool.project_id
    for as_of in (date(2025, 3, 31), date(2025, 6, 30)):
        paid = claims_service.paid_in(db, project_id=pid, start=date(2025, 1, 1), end=as_of)
        payable = claims_service.claims_payable_at(db, project_id=pid, as_of=as_of)
        reserve = claims_service.case_reserve_at(db, project_id=pid, as_of=as_of)

        def books(account, as_of=as_of):
            return ledger_service.balance_of(db, project_id=pid, account=account, as_of=as_of)

        assert payable == -books(L.CLAIMS_PAYABLE) and payable >= 0
        assert reserve == -books(L.CASE_RESERVE)
        assert paid + payable + reserve == books(L.CLAIMS_PAID_EXPENSE) + books(
            L.CASE_RESERVE_CHANGE)
