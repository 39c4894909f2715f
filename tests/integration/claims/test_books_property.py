"""Any sequence of claim steps keeps the books balanced and the claim rows in step with them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mutua.auth.security import SYSTEM
from mutua.claims import service
from mutua.claims.models import Claim
from mutua.claims.schemas import ClaimIn, DecisionIn, ItemOverride
from mutua.errors import Conflict, ValidationFailed
from mutua.ledger import service as ledger_service
from mutua.money import ZERO
from tests.factories import ON_PAPER

from .conftest import TODAY, assert_books_balance

ITEMS = st.sampled_from([
    {"benefit_code": "medical", "invoice_amount": "800", "has_social_insurance": True},
    {"benefit_code": "medical", "invoice_amount": "9000"},
    {"benefit_code": "disability", "disability_grade": 7},
    {"benefit_code": "hospital", "hospital_days": 12},
    {"benefit_code": "death"},
])
STEPS = st.lists(st.tuples(st.sampled_from(["report", "review", "decide", "override", "appeal",
                                            "pay", "close", "reserve"]),
                           st.integers(0, 5), ITEMS), min_size=1, max_size=12)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=STEPS)
def test_any_sequence_of_steps_keeps_books_and_rows_consistent(db, world, steps):
    for action, pick, item in steps:
        claims = db.scalars(select(Claim).order_by(Claim.id)).all()
        target = claims[pick % len(claims)] if claims else None
        try:
            _step(db, world, action, target, item)
        except (Conflict, ValidationFailed):
            db.rollback()  # a refused step stores nothing
        else:
            db.commit()
    _check(db, world.project_id)


def _step(db, world, action, claim, item):
    if action == "report" or claim is None:
        event = TODAY - timedelta(days=3)
        service.report(db, data=ClaimIn(policy_id=world.policy.id, event_type="accident",
                                        event_date=event, items=[item]), actor=SYSTEM)
    elif action == "review":
        service.review(db, claim_id=claim.id, actor=SYSTEM)
    elif action == "decide":
        service.decide(db, claim_id=claim.id, actor=SYSTEM, data=DecisionIn(**ON_PAPER, reason="checked"))
    elif action == "override":
        items = service.to_out(db, claim).items
        service.decide(db, claim_id=claim.id, actor=SYSTEM, data=DecisionIn(**ON_PAPER,
            items=[ItemOverride(item_id=items[0].id, approved=Decimal("123.45"))],
            reason="agreed with the member"))
    elif action == "appeal":
        service.appeal(db, claim_id=claim.id, actor=SYSTEM, reason="please look again")
    elif action == "pay":
        service.pay(db, project_code="TEST-ACC", actor=SYSTEM)
    elif action == "close":
        service.close(db, claim_id=claim.id, actor=SYSTEM)
    else:
        service.set_reserve(db, claim_id=claim.id, amount="777.77", actor=SYSTEM)


def _check(db, project_id):
    db.expire_all()
    claims = db.scalars(select(Claim)).all()
    for c in claims:
        assert ZERO <= c.paid <= c.approved or c.status == "reopened"
        assert c.case_reserve >= 0
        if c.status not in ("reported", "under_review", "reopened"):
            assert c.case_reserve == 0
    reserve = sum((c.case_reserve for c in claims), ZERO)
    assert service.case_reserve_at(db, project_id=project_id, as_of=TODAY) == reserve
    assert -ledger_service.balance_of(db, project_id=project_id, account="case_reserve") == reserve
    approved = sum((c.approved for c in claims), ZERO)
    paid = sum((c.paid for c in claims), ZERO)
    assert ledger_service.balance_of(db, project_id=project_id,
                                     account="claims_expense") == approved
    assert -ledger_service.balance_of(db, project_id=project_id,
                                      account="claims_payable") == approved - paid
    assert service.paid_in(db, project_id=project_id, start=TODAY, end=TODAY) == paid
    assert_books_balance(db)
