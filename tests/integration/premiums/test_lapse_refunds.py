"""A part payment made before a premium lapsed is owed back (issue 18 item 4): the lapse
books it in refunds payable; finance pays it back through the payment interface, once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.errors import Conflict
from mutua.ledger import domain as L
from mutua.policies import bulk_enrolment, dues
from mutua.policies.bulk_enrolment import Enrolment
from mutua.premiums import service as premiums_service
from tests import factories as f

from .conftest import CASH, RECEIVABLE, TODAY, assert_books_balance, balance, unpaid

PAYABLE = L.PREMIUM_REFUNDS_PAYABLE
LATE = TODAY - timedelta(days=45)


def part_paid(db, owed, amount="10.00"):
    dues.apply(db, owed=owed, amount=Decimal(amount), paid_on=owed.grace_end, reference="BANK")


def test_a_lapsed_part_payment_is_refunded_once(db, product):
    p = unpaid(db, f.member(db), on=LATE)
    part_paid(db, dues.find_or_404(db, project_id=p.project_id, reference=p.policy_number))
    dues.lapse_overdue(db, on=TODAY)
    db.commit()
    assert balance(db, p.project_id, PAYABLE) == Decimal("-10.00")
    assert [o.reference for o in dues.refunds_owed(db, project_id=p.project_id)] == [
        p.policy_number]
    refund_id = premiums_service.refund_lapsed(db, project_code="TEST-ACC",
                                               reference=p.policy_number, actor=SYSTEM)
    db.commit()
    assert refund_id and balance(db, p.project_id, PAYABLE) == 0
    assert balance(db, p.project_id, CASH) == 0  # 10 in, 10 back
    assert dues.refunds_owed(db, project_id=p.project_id) == []
    with pytest.raises(Conflict):
        premiums_service.refund_lapsed(db, project_code="TEST-ACC", reference=p.policy_number,
                                       actor=SYSTEM)
    db.rollback()
    assert balance(db, p.project_id, CASH) == 0
    assert_books_balance(db)


def test_nothing_is_refunded_on_a_due_still_open_or_lapsed_unpaid(db, product):
    open_one = unpaid(db, f.member(db))
    lapsed_unpaid = unpaid(db, f.member(db), on=LATE)
    dues.lapse_overdue(db, on=TODAY)
    db.commit()
    for p in (open_one, lapsed_unpaid):
        with pytest.raises(Conflict):
            premiums_service.refund_lapsed(db, project_code="TEST-ACC",
                                           reference=p.policy_number, actor=SYSTEM)
        db.rollback()
    assert balance(db, open_one.project_id, CASH) == 0


def test_a_group_invoice_part_paid_then_lapsed_owes_its_part_back(db, product):
    members = [f.member(db) for _ in range(3)]
    bulk_enrolment.enrol_many(db, product_code="TEST-ACC-1", period_code="P1", actor=SYSTEM,
                              on=LATE, paid=False, reference="INV-9",
                              enrolments=[Enrolment(m.id, i) for i, m in enumerate(members)])
    owed = dues.find_or_404(db, project_id=product.project_id, reference="INV-9")
    part_paid(db, owed, "50.00")
    dues.lapse_overdue(db, on=TODAY)
    db.commit()
    assert balance(db, product.project_id, RECEIVABLE) == 0  # nothing left owed to the pool
    assert balance(db, product.project_id, PAYABLE) == Decimal("-50.00")
    premiums_service.refund_lapsed(db, project_code="TEST-ACC", reference="INV-9", actor=SYSTEM)
    db.commit()
    assert balance(db, product.project_id, PAYABLE) == 0
    assert_books_balance(db)


def test_finance_refunds_through_the_api(client, db, product):
    p = unpaid(db, f.member(db), on=LATE)
    part_paid(db, dues.find_or_404(db, project_id=p.project_id, reference=p.policy_number))
    dues.lapse_overdue(db, on=TODAY)
    db.commit()
    url = f"/api/v1/premiums/lapsed/TEST-ACC/{p.policy_number}/refund"
    uw = f.staff_headers(client, db, Role.UNDERWRITER)
    assert client.post(url, headers=uw).status_code == 403
    fin = f.staff_headers(client, db, Role.FINANCE)
    ok = client.post(url, headers=fin)
    assert ok.status_code == 200 and ok.json()["refund_id"]
    assert client.post(url, headers=fin).status_code == 409
