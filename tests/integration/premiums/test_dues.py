"""Premiums due: cover starts when paid in the grace days, else the policy lapses and
never covered a claim (issue 18 items 1 and 4)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from mutua.auth.security import SYSTEM
from mutua.claims import service as claims_service
from mutua.claims.schemas import ClaimIn
from mutua.errors import Conflict, ValidationFailed
from mutua.policies import bulk_enrolment, cancellation, domain, dues
from mutua.policies import service as policies_service
from mutua.policies.bulk_enrolment import Enrolment
from mutua.policies.models import PremiumDue, PremiumPayment
from tests import factories as f

from .conftest import CASH, ENROLLED, RECEIVABLE, TODAY, UNEARNED, assert_books_balance, balance, unpaid


def claim_on(policy_id, days_ago=2):
    return ClaimIn.model_validate({
        "policy_id": policy_id, "event_type": "accident",
        "event_date": (TODAY - timedelta(days=days_ago)).isoformat(), "place": "深圳",
        "description": "fell", "items": [{"benefit_code": "disability", "disability_grade": 10}]})


def test_an_unpaid_enrolment_covers_nothing_and_books_a_receivable(db, product):
    p = unpaid(db, f.member(db))
    db.commit()
    assert p.status == domain.UNPAID and p.cover_end < p.cover_start
    due = db.scalar(select(PremiumDue).where(PremiumDue.policy_id == p.id))
    assert due.state == "open" and due.amount == p.premium
    assert due.grace_end == ENROLLED + timedelta(days=product.grace_days)
    assert balance(db, product.project_id, RECEIVABLE) == p.premium
    assert balance(db, product.project_id, CASH) == 0
    assert policies_service.in_force_counts(db, on=TODAY) == {}
    assert_books_balance(db)


def test_a_claim_on_an_unpaid_policy_is_refused_saying_so(db, product):
    p = unpaid(db, f.member(db))
    db.commit()
    with pytest.raises(ValidationFailed) as e:
        claims_service.report(db, data=claim_on(p.id), actor=SYSTEM)
    assert e.value.problems[0].field == "policy_id"
    assert e.value.problems[0].rule == domain.PREMIUM_UNPAID


def test_paid_in_grace_cover_runs_from_the_planned_start(db, product):
    p = unpaid(db, f.member(db))
    db.commit()
    owed = dues.find_or_404(db, project_id=p.project_id, reference=p.policy_number)
    started = dues.apply(db, owed=owed, amount=p.premium, paid_on=TODAY, reference="BANK1")
    db.commit()
    db.refresh(p)
    assert started == 1 and p.status == domain.IN_FORCE
    assert p.cover_start == ENROLLED + timedelta(days=1)
    assert balance(db, p.project_id, RECEIVABLE) == 0
    assert balance(db, p.project_id, CASH) == p.premium
    assert db.scalar(select(PremiumPayment.amount).where(PremiumPayment.policy_id == p.id)) \
        == p.premium
    assert policies_service.in_force_counts(db, on=TODAY) == {p.project_id: (1, 1)}
    claims_service.report(db, data=claim_on(p.id), actor=SYSTEM)  # covered now
    assert_books_balance(db)


def test_a_wrong_amount_or_late_payment_changes_nothing(db, product):
    p = unpaid(db, f.member(db))
    db.commit()
    owed = dues.find_or_404(db, project_id=p.project_id, reference=p.policy_number)
    with pytest.raises(ValidationFailed) as e:
        dues.apply(db, owed=owed, amount=p.premium + 1, paid_on=TODAY, reference="X")
    assert e.value.problems[0].field == "amount"
    with pytest.raises(Conflict):
        dues.apply(db, owed=owed, amount=p.premium, paid_on=owed.grace_end + timedelta(days=1),
                   reference="X")
    db.rollback()
    assert balance(db, p.project_id, CASH) == 0
    assert db.get(type(p), p.id).status == domain.UNPAID


def test_unpaid_past_grace_lapses_and_never_covered_a_claim(db, product):
    p = unpaid(db, f.member(db), on=TODAY - timedelta(days=40))
    keep = unpaid(db, f.member(db))
    db.commit()
    assert dues.lapse_overdue(db, on=TODAY) == {p.project_id: 1}
    assert dues.lapse_overdue(db, on=TODAY) == {}  # again: nothing more
    db.commit()
    db.refresh(p)
    db.refresh(keep)
    assert p.status == domain.LAPSED and p.cover_end < p.cover_start
    assert keep.status == domain.UNPAID
    assert balance(db, p.project_id, RECEIVABLE) == keep.premium
    assert balance(db, p.project_id, UNEARNED) == -keep.premium
    with pytest.raises(ValidationFailed) as e:
        claims_service.report(db, data=claim_on(p.id, days_ago=20), actor=SYSTEM)
    assert e.value.problems[0].rule == domain.LAPSED_UNPAID
    assert_books_balance(db)


def test_a_group_invoice_owns_the_dues_and_paying_it_starts_every_cover(db, product):
    members = [f.member(db) for _ in range(5)]
    result = bulk_enrolment.enrol_many(
      db, product_code="TEST-ACC-1", period_code="P1", actor=SYSTEM, on=ENROLLED,
      enrolments=[Enrolment(m.id, n) for n, m in enumerate(members)], paid=False,
      reference="INV-2026-001", payer="顺丰速运")
    db.commit()
    assert result.enrolled == 5
    assert policies_service.in_force_counts(db, on=TODAY) == {}
    owed = dues.find_or_404(db, project_id=product.project_id, reference="INV-2026-001")
    assert owed.amount == result.premium_total and owed.member_id is None
    assert dues.apply(db, owed=owed, amount=owed.amount, paid_on=TODAY, reference="B") == 5
    db.commit()
    assert policies_service.in_force_counts(db, on=TODAY) == {product.project_id: (5, 5)}
    assert balance(db, product.project_id, CASH) == result.premium_total
    assert_books_balance(db)


def test_paid_enrolment_still_covers_at_once(db, product):
    p = f.policy(db, member=f.member(db), on=ENROLLED)
    db.commit()
    assert p.status == domain.IN_FORCE and p.cover_start <= TODAY <= p.cover_end
    assert db.scalar(select(PremiumDue.id)) is None


def test_cancelling_an_unpaid_policy_refunds_nothing_and_reverses_the_due(db, product):
    p = unpaid(db, f.member(db))
    db.commit()
    cancellation.cancel(db, policy_id=p.id, actor=SYSTEM, on=TODAY)
    db.commit()
    assert p.status == domain.CANCELLED and p.refund == 0
    assert balance(db, p.project_id, RECEIVABLE) == 0
    assert balance(db, p.project_id, UNEARNED) == 0
    assert_books_balance(db)


def test_a_cancellation_refund_goes_through_the_provider_and_the_books(db, product):
    from mutua.audit.models import AuditEvent
    from mutua.ledger import domain as L

    p = f.policy(db, member=f.member(db), on=ENROLLED - timedelta(days=30))
    db.commit()
    cancellation.cancel(db, policy_id=p.id, actor=SYSTEM, on=TODAY)
    db.commit()
    assert p.refund > 0
    assert balance(db, p.project_id, CASH) == p.premium - p.refund
    assert balance(db, p.project_id, L.PREMIUM_REFUNDS_PAYABLE) == 0  # owed, then paid
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "policy.cancel"))
    assert event.detail["refund_id"].startswith("FAKE-R-")
    assert_books_balance(db)


def test_the_close_reads_only_paid_cover(db, product):
    """Unpaid and lapsed policies have no cover, so the close's own reads (earned premium,
    policies in force for the uplift) leave them out with no rule of their own."""
    from mutua.dates import Quarter
    from mutua.settlement import figures

    paid = f.policy(db, member=f.member(db), on=ENROLLED)
    unpaid(db, f.member(db))
    unpaid(db, f.member(db), on=TODAY - timedelta(days=40))
    db.commit()
    dues.lapse_overdue(db, on=TODAY)
    db.commit()
    pid = product.project_id
    span = figures.policy_id_span(db, project_id=pid)
    in_force = figures.in_force_on(db, project_id=pid, day=TODAY, ids=span)
    assert list(in_force.policy_id) == [paid.id]
    q = Quarter.of(TODAY)
    earned = figures.earned_in_quarters(db, project_id=pid, quarters=[q])[q]
    alone = figures.earned_by_product(db, project_id=pid, quarter=q)[0].to_date
    assert earned == alone > 0
    days = (q.end - paid.cover_start).days + 1  # the paid policy's days to the quarter's end
    assert alone == (2 * 3650 * days + 365) // (2 * 365)  # of its 36.50 alone


def test_collection_rate_and_aged_receivables(db, product):
    paid_one = unpaid(db, f.member(db), on=TODAY - timedelta(days=20))
    unpaid(db, f.member(db), on=TODAY - timedelta(days=5))  # 0-30
    unpaid(db, f.member(db), on=TODAY - timedelta(days=29))  # 0-30, its last day
    unpaid(db, f.member(db), on=TODAY - timedelta(days=31))  # 31-60 (past grace: lapses)
    db.commit()
    owed = dues.find_or_404(db, project_id=product.project_id, reference=paid_one.policy_number)
    dues.apply(db, owed=owed, amount=owed.amount, paid_on=TODAY, reference="B")
    db.commit()
    [row] = dues.collection(db, on=TODAY)
    premium = paid_one.premium
    assert (row.due, row.collected, row.lapsed) == (4 * premium, premium, 0)
    assert row.owed_by_age == (2 * premium, premium, 0, 0)
    assert row.rate == Decimal("0.25")
    dues.lapse_overdue(db, on=TODAY)
    [row] = dues.collection(db, on=TODAY)
    assert row.lapsed == 1 and row.owed_by_age == (2 * premium, 0, 0, 0)
