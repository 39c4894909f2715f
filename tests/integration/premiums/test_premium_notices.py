"""Members hear of their premium (issue 19 item 3): a due written, a reminder once before
the grace end, a lapse; each told in the transaction that decides it, set-based."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from mutua.auth.security import SYSTEM
from mutua.notify.models import Notification
from mutua.policies import bulk_enrolment, dues
from mutua.policies.bulk_enrolment import Enrolment
from mutua.policies.models import PremiumDue
from tests import factories as f

from .conftest import TODAY, unpaid


def told(db, event_name: str) -> list[tuple[int, str, object]]:
    return [tuple(r) for r in db.execute(
        select(Notification.member_id, Notification.ref_text, Notification.amount)
        .where(Notification.event == event_name).order_by(Notification.id))]


class Inserts:
    """Counts the INSERT statements into notifications a block of work sends."""

    def __init__(self, db):
        self.engine, self.count = db.get_bind(), 0

    def _seen(self, conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFICATIONS"):
            self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)


def test_a_member_enrolled_unpaid_is_told_the_premium_is_due(db, product):
    member = f.member(db)
    p = unpaid(db, member)
    db.commit()
    assert told(db, "premium.due") == [(member.id, p.policy_number, p.premium)]


def test_a_group_invoice_tells_its_members_in_one_statement_and_once(db, product):
    members = [f.member(db) for _ in range(40)]
    db.commit()
    with Inserts(db) as inserts:
        result = bulk_enrolment.enrol_many(
          db, product_code="TEST-ACC-1", period_code="P1", actor=SYSTEM, paid=False,
          reference="INV-1", payer="顺丰速运",
          enrolments=[Enrolment(m.id, i) for i, m in enumerate(members)])
        db.commit()
    assert result.enrolled == 40
    assert inserts.count == 1
    assert sorted(m for m, _, _ in told(db, "premium.due")) == sorted(m.id for m in members)
    again = dues.tell_written(db, PremiumDue.invoice_id.is_not(None))
    assert again == 0  # nobody is told of the same due twice


def test_a_member_is_reminded_once_when_the_grace_end_is_near(db, product):
    late, early = f.member(db), f.member(db)
    near = unpaid(db, late, on=TODAY - timedelta(days=product.grace_days - 3))
    unpaid(db, early, on=TODAY)  # grace ends in a month: no reminder yet
    db.commit()
    assert dues.remind_unpaid(db, on=TODAY) == 1
    assert dues.remind_unpaid(db, on=TODAY + timedelta(days=1)) == 0
    db.commit()
    assert told(db, "premium.reminder") == [(late.id, near.policy_number, near.premium)]


def test_a_paid_due_is_not_reminded(db, product):
    p = unpaid(db, f.member(db), on=TODAY - timedelta(days=product.grace_days - 3))
    owed = dues.find_or_404(db, project_id=p.project_id, reference=p.policy_number)
    dues.apply(db, owed=owed, amount=owed.amount, paid_on=TODAY, reference="BANK")
    assert dues.remind_unpaid(db, on=TODAY) == 0


def test_a_lapsed_member_is_told_once(db, product):
    member = f.member(db)
    p = unpaid(db, member, on=TODAY - timedelta(days=45))
    db.commit()
    dues.lapse_overdue(db, on=TODAY)
    dues.lapse_overdue(db, on=TODAY + timedelta(days=1))
    db.commit()
    assert told(db, "premium.lapsed") == [(member.id, p.policy_number, p.premium)]
