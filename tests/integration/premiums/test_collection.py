"""Collection files and the reconciliation queue (issue 18 item 2): exact payments post,
the rest wait for finance; the same file or transaction never posts twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mutua.auth.security import SYSTEM
from mutua.errors import Conflict, ValidationFailed
from mutua.ledger import domain as L
from mutua.policies import domain
from mutua.policies import service as policies_service
from mutua.policies.models import Policy
from mutua.premiums import service
from mutua.premiums.models import CollectedPayment
from tests import factories as f

from .conftest import CASH, RECEIVABLE, assert_books_balance, balance

SAMPLE = Path(__file__).parents[2] / "data" / "collection-sample.csv"
ENROLLED = date(2026, 11, 20)  # the sample's payments fall within the 30 grace days


@pytest.fixture
def world(db):
    """Three members with unpaid 36.50 policies P0000000001-3 (members M000000001-3)."""
    product = f.accident_project(db, today=ENROLLED, sale_start=date(2026, 11, 1),
                                 sale_end=date(2026, 12, 31))
    policies = [policies_service.enrol(db, member_id=f.member(db).id, product_code="TEST-ACC-1",
                                       period_code="P1", actor=SYSTEM, on=ENROLLED, paid=False)
                for _ in range(3)]
    db.commit()
    return product, policies


def upload(db, data: bytes, name="bank.csv"):
    return service.import_file(db, project_code="TEST-ACC", source="bank", data=data,
                               filename=name, actor=SYSTEM)


def test_the_sample_file_posts_the_exact_line_and_queues_the_rest(db, world):
    product, (p1, p2, p3) = world
    report = upload(db, SAMPLE.read_bytes())
    db.commit()
    assert (report.lines, report.posted, report.queued) == (5, 1, 4)
    assert report.reasons == {"exact": 1, "partial": 1, "over": 1, "duplicate": 1,
                              "unknown": 1}
    db.refresh(p1)
    assert p1.status == domain.IN_FORCE and db.get(Policy, p2.id).status == domain.UNPAID
    pid = product.project_id
    assert balance(db, pid, CASH) == Decimal("179.50")  # every line's money arrived
    assert balance(db, pid, L.PREMIUM_SUSPENSE) == Decimal("-143.00")
    assert balance(db, pid, RECEIVABLE) == Decimal("73.00")  # p2, p3 still owed
    assert_books_balance(db)


def test_the_same_file_twice_is_refused_and_posts_nothing(db, world):
    upload(db, SAMPLE.read_bytes())
    db.commit()
    cash = balance(db, world[0].project_id, CASH)
    with pytest.raises(Conflict, match="already uploaded"):
        upload(db, SAMPLE.read_bytes(), name="again.csv")
    db.rollback()
    assert balance(db, world[0].project_id, CASH) == cash


def test_a_transaction_already_taken_in_another_file_is_skipped(db, world):
    upload(db, SAMPLE.read_bytes())
    db.commit()
    again = SAMPLE.read_bytes() + b"ICBC20261203-0009,2026-12-03,36.50,P0000000002,M000000002,\n"
    report = upload(db, again, name="bank-2.csv")
    db.commit()
    assert (report.repeated, report.queued, report.posted) == (5, 0, 1)
    assert db.scalar(select(func.count()).select_from(CollectedPayment)) == 6


def test_a_bad_line_refuses_the_whole_file_naming_row_and_field(db, world):
    bad = (b"transaction_id,paid_on,amount,reference\n"
           b"T1,2026-12-01,36.50,P0000000001\nT2,2026-12-01,-5,P0000000002\n")
    with pytest.raises(ValidationFailed) as e:
        upload(db, bad)
    assert [(p.field, p.rule) for p in e.value.problems] == [("rows[3].amount",
                                                               "must be above zero")]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(CollectedPayment)) == 0


def test_finance_matches_partials_refunds_an_overpayment_and_holds_an_unknown(db, world):
    product, (p1, p2, p3) = world
    upload(db, SAMPLE.read_bytes())
    db.commit()
    items = {i.reason: i for i in service.queue(db, project_code="TEST-ACC")[0]}
    service.match(db, payment_id=items["partial"].id, reference=p2.policy_number, actor=SYSTEM)
    db.commit()
    with pytest.raises(ValidationFailed) as e:  # 50.00 is more than the 36.50 owed
        service.match(db, payment_id=items["over"].id, reference=p3.policy_number, actor=SYSTEM)
    assert e.value.problems[0].field == "amount"
    db.rollback()
    service.refund(db, payment_id=items["over"].id, actor=SYSTEM, on=date(2026, 12, 3))
    service.hold(db, payment_id=items["unknown"].id, note="asked the bank who paid",
                 actor=SYSTEM)
    with pytest.raises(ValidationFailed):
        service.hold(db, payment_id=items["duplicate"].id, note=" ", actor=SYSTEM)
    with pytest.raises(Conflict):
        service.refund(db, payment_id=items["over"].id, actor=SYSTEM)
    db.commit()
    db.refresh(p2)
    assert p2.status == domain.UNPAID  # 20.00 of 36.50 paid: no cover yet
    pid = product.project_id
    assert balance(db, pid, L.PREMIUM_SUSPENSE) == Decimal("-73.00")  # duplicate + unknown
    assert balance(db, pid, CASH) == Decimal("129.50")
    assert_books_balance(db)
