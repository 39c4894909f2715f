"""Premiums due (应收保费), their payment and the lapse of what is not paid in time.

A policy enrolled without its premium is written ``unpaid`` with no cover and a due that
keeps the cover it will have. Paying the due (a counter, a collection file, an online
payment) starts that cover from its planned first day, in the books
Dr cash / Cr premium receivable; unpaid past its grace end, the lapse run marks the policy
``lapsed`` (it never covered anything) and reverses what enrolment booked,
Dr unearned premium / Cr premium receivable. Every step is set-based: a group invoice pays
or lapses thousands of dues in a handful of statements.

Members hear of each step in the same transaction (notify): a due written
(``premium.due``), a reminder once when the grace end is near (``premium.reminder``,
:func:`remind_unpaid`) and the lapse (``premium.lapsed``); each is one INSERT ... SELECT
over the dues concerned, told once per due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Date, String, and_, case, func, insert, literal, select, update
from sqlalchemy.orm import Session

from mutua.db import batched
from mutua.errors import Conflict, NotFound, ValidationFailed
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.members.models import Member
from mutua.money import ZERO, from_fen
from mutua.notify import service as notify
from mutua.payments import provider
from mutua.policies import domain
from mutua.policies.models import Policy, PremiumDue, PremiumInvoice, PremiumPayment

OPEN, PAID, LAPSED, CANCELLED = "open", "paid", "lapsed", "cancelled"
REMINDER_DAYS = 7  # a member still owing is reminded once, this many days before grace end


@dataclass(frozen=True)
class Owed:
    """What a payment is matched against: one due, or a group invoice and all its dues."""

    project_id: int
    reference: str
    member_id: int | None  # None for a group invoice (the payer is an employer, a platform)
    amount: Decimal
    paid: Decimal
    state: str
    grace_end: date
    due_id: int | None = None
    invoice_id: int | None = None

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid


def find(db: Session, *, project_id: int, reference: str) -> Owed | None:
    """The due or group invoice a payment reference names in a project, if any (a group's
    own dues are paid through their invoice, so their references name nothing)."""
    found = owed_for(db, project_id=project_id, references=[reference]).get(reference)
    return found[0] if found else None


def find_or_404(db: Session, *, project_id: int, reference: str) -> Owed:
    owed = find(db, project_id=project_id, reference=reference)
    if owed is None:
        raise NotFound("no premium due or invoice with reference %(reference)s", reference=reference)
    return owed


def open_due(db: Session, *, policy: Policy, grace_days: int, on: date) -> PremiumDue:
    """Turn a just-enrolled policy into one awaiting its premium (the unpaid path)."""
    due = PremiumDue(project_id=policy.project_id, policy_id=policy.id,
                     member_id=policy.member_id, reference=policy.policy_number,
                     amount=policy.premium, paid=ZERO, due_on=on,
                     grace_end=domain.grace_end(on, grace_days),
                     cover_start=policy.cover_start, cover_end=policy.cover_end, state=OPEN)
    policy.status = domain.UNPAID
    policy.cover_start, policy.cover_end = domain.no_cover(policy.cover_start)
    db.add(due)
    ledger_service.post(db, L.JournalEntry.of(
        project_id=policy.project_id, entry_date=on, kind="premium_due",
        memo=f"premium due on {policy.policy_number}", reference=policy.policy_number,
        postings=L.transfer(L.PREMIUM_RECEIVABLE, L.UNEARNED_PREMIUM, policy.premium)))
    db.flush()
    tell_written(db, PremiumDue.id == due.id)
    return due


def tell_written(db: Session, dues) -> int:
    """The members of the dues (a WHERE clause) hear that a premium is due, in one
    statement and once per due (a group invoice of a million members included)."""
    return notify.tell_from_select(db, event="premium.due", rows=_told(dues), once=True)


def remind_unpaid(db: Session, *, on: date, days: int = REMINDER_DAYS) -> int:
    """Members whose premium is still owed ``days`` or fewer days before its grace end are
    reminded, once per due, in one statement; returns how many were told."""
    near = and_(PremiumDue.state == OPEN, PremiumDue.grace_end >= on,
                PremiumDue.grace_end <= on + timedelta(days=days))
    return notify.tell_from_select(db, event="premium.reminder", rows=_told(near), once=True)


def _told(dues):
    """(project, member, due id, policy number, amount still owed in fen) of the dues."""
    return select(PremiumDue.project_id, PremiumDue.member_id, PremiumDue.id,
                  PremiumDue.reference, PremiumDue.amount - PremiumDue.paid).where(dues)


def _dues_of(owed: Owed):
    """The WHERE clause picking the open dues a payment of ``owed`` settles."""
    key = (PremiumDue.invoice_id == owed.invoice_id if owed.invoice_id is not None
           else PremiumDue.id == owed.due_id)
    return and_(PremiumDue.project_id == owed.project_id, key, PremiumDue.state == OPEN)


def apply(db: Session, *, owed: Owed, amount: Decimal, paid_on: date, reference: str,
          from_account: str = L.CASH) -> int:
    """Apply ``amount`` to a due or invoice; when it is then paid in full, start cover.

    ``from_account`` is where the money sits now: cash for a payment that matched at once,
    the suspense account for one finance matched by hand from the queue. Returns the number
    of policies whose cover started (0 while a part is still owed).
    """
    if owed.state != OPEN:
        raise Conflict("premium %(reference)s is %(state)s, not open",
                       reference=owed.reference, state=owed.state)
    if paid_on > owed.grace_end:
        raise Conflict("premium %(reference)s was due by %(grace_end)s; a later payment "
                       "starts no cover", reference=owed.reference, grace_end=owed.grace_end)
    if not ZERO < amount <= owed.outstanding:
        raise ValidationFailed("amount", "must be above zero and at most the %(owed)s owed",
                               owed=owed.outstanding)
    ledger_service.post(db, L.JournalEntry.of(
        project_id=owed.project_id, entry_date=paid_on, kind="premium",
        memo=f"premium received for {owed.reference}", reference=reference[:64],
        postings=L.transfer(from_account, L.PREMIUM_RECEIVABLE, amount)))
    _add_paid(db, owed, amount, paid_on)
    if amount < owed.outstanding:
        return 0
    started = _start_cover(db, _dues_of(owed), paid_on, reference)
    if owed.invoice_id is not None:
        db.execute(update(PremiumInvoice).where(PremiumInvoice.id == owed.invoice_id)
                   .values(state=PAID))
    return started


def settle(db: Session, *, project_id: int, due_ids: list[int], paid_on: date,
           reference: str) -> int:
    """Many single dues paid exactly on one day (the exact lines of a collection file), in
    a few statements per 5,000 dues and one entry; returns the policies whose cover started."""
    started, total = 0, ZERO
    for chunk in batched(due_ids, 5000):
        where = and_(PremiumDue.project_id == project_id, PremiumDue.state == OPEN,
                     PremiumDue.invoice_id.is_(None), PremiumDue.id.in_(chunk))
        total += from_fen(int(db.scalar(select(ledger_service.fen_sum(PremiumDue.amount))
                                        .where(where)) or 0))
        started += _start_cover(db, where, paid_on, reference)
    if total:
        ledger_service.post(db, L.JournalEntry.of(
            project_id=project_id, entry_date=paid_on, kind="premium",
            memo=f"premiums received: {started} dues", reference=reference[:64],
            postings=L.transfer(L.CASH, L.PREMIUM_RECEIVABLE, total)))
    return started


def _add_paid(db: Session, owed: Owed, amount: Decimal, paid_on: date) -> None:
    if owed.invoice_id is not None:
        db.execute(update(PremiumInvoice).where(PremiumInvoice.id == owed.invoice_id)
                   .values(paid=PremiumInvoice.paid + amount, paid_on=paid_on))
    else:
        db.execute(update(PremiumDue).where(PremiumDue.id == owed.due_id)
                   .values(paid=PremiumDue.paid + amount, paid_on=paid_on))


def _start_cover(db: Session, dues, paid_on: date, reference: str) -> int:
    """The dues (a WHERE clause) are paid: each policy gets its planned cover and a payment
    row, in 3 statements."""
    ids = select(PremiumDue.policy_id).where(dues).scalar_subquery()

    def planned(col):
        return select(col).where(PremiumDue.policy_id == Policy.id).scalar_subquery()

    started = db.execute(update(Policy).where(Policy.id.in_(ids), Policy.status == domain.UNPAID)
                         .values(status=domain.IN_FORCE, cover_start=planned(PremiumDue.cover_start),
                                 cover_end=planned(PremiumDue.cover_end))
                         .execution_options(synchronize_session=False)).rowcount
    db.execute(insert(PremiumPayment).from_select(
        ["project_id", "policy_id", "amount", "paid_on", "kind", "reference"],
        select(PremiumDue.project_id, PremiumDue.policy_id, PremiumDue.amount,
               literal(paid_on, Date), literal("premium", String),
               literal(reference[:64], String))
        .where(dues)))
    db.execute(update(PremiumDue).where(dues).values(state=PAID, paid=PremiumDue.amount,
                                                     paid_on=paid_on)
               .execution_options(synchronize_session=False))
    db.expire_all()
    return started


def lapse_overdue(db: Session, *, on: date, project_id: int | None = None) -> dict[int, int]:
    """Lapse every policy whose premium is still owed after its grace end (before ``on``).

    Set-based per project: the policies, their dues and invoices in one statement each,
    one reversing entry per project. Safe to run again: lapsed dues are no longer open.
    Returns policies lapsed per project.
    """
    overdue = and_(PremiumDue.state == OPEN, PremiumDue.grace_end < on)
    if project_id is not None:
        overdue = and_(overdue, PremiumDue.project_id == project_id)
    per_project = db.execute(
        select(PremiumDue.project_id, func.count(), ledger_service.fen_sum(PremiumDue.amount),
               ledger_service.fen_sum(PremiumDue.paid))
        .where(overdue).group_by(PremiumDue.project_id)).all()
    out = {}
    for pid, count, amount_fen, paid_fen in per_project:
        where = and_(overdue, PremiumDue.project_id == pid)
        paid = from_fen(int(paid_fen or 0)) + _paid_on_invoices(db, where)
        _lapse_project(db, project_id=pid, overdue=where, on=on,
                       amount=from_fen(int(amount_fen)), paid=paid)
        out[int(pid)] = int(count)
    db.expire_all()
    return out


def _paid_on_invoices(db: Session, overdue) -> Decimal:
    """Part payments of the open group invoices whose dues are lapsing (an invoice keeps
    what was paid on it, its dues do not)."""
    invoices = select(PremiumDue.invoice_id).where(overdue, PremiumDue.invoice_id.is_not(None))
    paid = db.scalar(select(ledger_service.fen_sum(PremiumInvoice.paid)).where(
        PremiumInvoice.id.in_(invoices.scalar_subquery()), PremiumInvoice.state == OPEN))
    return from_fen(int(paid or 0))


def _lapse_project(db: Session, *, project_id: int, overdue, on: date, amount: Decimal,
                   paid: Decimal) -> None:
    ids = select(PremiumDue.policy_id).where(overdue).scalar_subquery()
    invoices = select(PremiumDue.invoice_id).where(overdue, PremiumDue.invoice_id.is_not(None))
    notify.tell_from_select(db, event="premium.lapsed", rows=_told(overdue), once=True)
    db.execute(update(Policy).where(Policy.id.in_(ids), Policy.status == domain.UNPAID)
               .values(status=domain.LAPSED, cancelled_on=on)
               .execution_options(synchronize_session=False))
    db.execute(update(PremiumInvoice).where(PremiumInvoice.id.in_(invoices.scalar_subquery()),
                                            PremiumInvoice.state == OPEN)
               .values(state=LAPSED).execution_options(synchronize_session=False))
    db.execute(update(PremiumDue).where(overdue).values(state=LAPSED)
               .execution_options(synchronize_session=False))
    # What was written as owed is no longer premium; a part already paid is owed back.
    postings = [(L.UNEARNED_PREMIUM, amount), (L.PREMIUM_RECEIVABLE, -(amount - paid))]
    if paid:
        postings.append((L.PREMIUM_REFUNDS_PAYABLE, -paid))
    ledger_service.post(db, L.JournalEntry.of(
        project_id=project_id, entry_date=on, kind="premium_lapse",
        memo="premiums unpaid past their grace end: policies lapsed", reference=f"lapse {on}",
        postings=postings))


def refunds_owed(db: Session, *, project_id: int) -> list[Owed]:
    """Dues and group invoices that lapsed after a part payment not yet paid back."""
    out = [Owed(project_id, i.reference, None, i.amount, i.paid, i.state, i.grace_end,
                invoice_id=i.id)
           for i in db.scalars(select(PremiumInvoice).where(
               PremiumInvoice.project_id == project_id, PremiumInvoice.state == LAPSED,
               PremiumInvoice.paid > 0, PremiumInvoice.refund_id.is_(None)))]
    out += [Owed(project_id, d.reference, d.member_id, d.amount, d.paid, d.state, d.grace_end,
                 due_id=d.id)
            for d in db.scalars(select(PremiumDue).where(
                PremiumDue.project_id == project_id, PremiumDue.state == LAPSED,
                PremiumDue.invoice_id.is_(None), PremiumDue.paid > 0,
                PremiumDue.refund_id.is_(None)).limit(500))]
    return out


def refund_lapsed(db: Session, *, project_id: int, reference: str, on: date) -> str:
    """Pay back what was paid on a due or group invoice before it lapsed: through the
    payment provider, Dr premium refunds payable / Cr cash, once (a second attempt, or two
    at once, gets Conflict and changes nothing). Returns the provider's refund id."""
    owed = find_or_404(db, project_id=project_id, reference=reference)
    if owed.state != LAPSED or owed.paid <= 0:
        raise Conflict("premium %(reference)s is %(state)s with %(paid)s paid: no refund is "
                       "owed on it", reference=reference, state=owed.state, paid=owed.paid)
    table = PremiumInvoice if owed.invoice_id is not None else PremiumDue
    row_id = owed.invoice_id if owed.invoice_id is not None else owed.due_id
    claimed = db.execute(update(table).where(table.id == row_id, table.refund_id.is_(None))
                         .values(refund_id="pending")
                         .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise Conflict("the part payment on %(reference)s was already refunded", reference=reference)
    refund_id = provider.get("fake").refund(project_id=project_id, reference=reference,
                                            amount=owed.paid)
    db.execute(update(table).where(table.id == row_id).values(refund_id=refund_id[:64])
               .execution_options(synchronize_session=False))
    ledger_service.post(db, L.JournalEntry.of(
        project_id=project_id, entry_date=on, kind="premium_refund_paid",
        memo=f"part payment refunded after {reference} lapsed", reference=refund_id[:64],
        postings=L.transfer(L.PREMIUM_REFUNDS_PAYABLE, L.CASH, owed.paid)))
    if owed.due_id is not None:
        due = db.get(PremiumDue, owed.due_id)
        db.add(PremiumPayment(project_id=project_id, policy_id=due.policy_id,
                              amount=-owed.paid, paid_on=on, kind="refund",
                              reference=refund_id[:64]))
    return refund_id


def cancel_due(db: Session, *, policy: Policy, on: date) -> bool:
    """A member cancels a policy still awaiting its premium: nothing was paid, nothing is
    refunded; the due closes and what enrolment booked is reversed. False when no open due."""
    due = db.scalar(select(PremiumDue).where(PremiumDue.policy_id == policy.id,
                                             PremiumDue.state == OPEN))
    if due is None or due.invoice_id is not None:
        return False
    if due.paid:
        raise Conflict("premium %(reference)s is part paid; finance settles it first",
                       reference=due.reference)
    due.state = CANCELLED
    ledger_service.post(db, L.JournalEntry.of(
        project_id=policy.project_id, entry_date=on, kind="premium_due_cancelled",
        memo=f"premium due cancelled with {policy.policy_number}", reference=due.reference,
        postings=L.transfer(L.UNEARNED_PREMIUM, L.PREMIUM_RECEIVABLE, due.amount)))
    return True


def of_member(db: Session, *, member_id: int) -> list[PremiumDue]:
    """A member's dues, newest first (what they owe and what they paid)."""
    return list(db.scalars(select(PremiumDue).where(PremiumDue.member_id == member_id)
                           .order_by(PremiumDue.due_on.desc(), PremiumDue.id.desc()).limit(200)))


def owed_for(db: Session, *, project_id: int, references: list[str],
             ) -> dict[str, tuple[Owed, str]]:
    """The dues and group invoices ``references`` name in a project, each with the member
    number it must be paid by ("" for an invoice), in one query per 5,000 references."""
    out: dict[str, tuple[Owed, str]] = {}
    for part in batched(references, 5000):
        for inv in db.scalars(select(PremiumInvoice).where(
                PremiumInvoice.project_id == project_id, PremiumInvoice.reference.in_(part))):
            out[inv.reference] = (Owed(project_id, inv.reference, None, inv.amount, inv.paid,
                                       inv.state, inv.grace_end, invoice_id=inv.id), "")
        for due, number in db.execute(
                select(PremiumDue, Member.member_number)
                .join(Member, Member.id == PremiumDue.member_id)
                .where(PremiumDue.project_id == project_id, PremiumDue.reference.in_(part),
                       PremiumDue.invoice_id.is_(None))):
            out[due.reference] = (Owed(project_id, due.reference, due.member_id, due.amount,
                                       due.paid, due.state, due.grace_end, due_id=due.id),
                                  number)
    return out


AGE_BANDS = ((0, 30), (31, 60), (61, 90), (91, None))  # days since due: 0-30 ... 90+


@dataclass(frozen=True)
class Collection:
    """A project's and sale period's premiums due: how much was collected, what is still
    owed by age (应收保费账龄), and how many policies lapsed."""

    project_id: int
    period_id: int
    due: Decimal  # every due written, less those cancelled with their policy
    collected: Decimal
    lapsed: int
    owed_by_age: tuple[Decimal, ...]  # one per AGE_BANDS

    @property
    def rate(self) -> Decimal | None:
        """Collected over due: 0.95 when 95 of every 100 yuan due came in."""
        return self.collected / self.due if self.due else None

    @property
    def owed(self) -> Decimal:
        return sum(self.owed_by_age, ZERO)


def collection(db: Session, *, on: date, project_id: int | None = None) -> list[Collection]:
    """Collection rate and aged receivables per project and period, in one GROUP BY."""
    outstanding = PremiumDue.amount - PremiumDue.paid
    is_open = PremiumDue.state == OPEN
    bands = []
    for low, high in AGE_BANDS:
        newest = on - timedelta(days=low)
        cond = [is_open, PremiumDue.due_on <= newest]
        if high is not None:
            cond.append(PremiumDue.due_on >= on - timedelta(days=high))
        bands.append(ledger_service.fen_sum(case((and_(*cond), outstanding), else_=0)))
    stmt = (select(PremiumDue.project_id, Policy.period_id,
                   ledger_service.fen_sum(case((PremiumDue.state != CANCELLED,
                                                PremiumDue.amount), else_=0)),
                   ledger_service.fen_sum(case((PremiumDue.state == PAID, PremiumDue.amount),
                                               else_=PremiumDue.paid)),
                   func.sum(case((PremiumDue.state == LAPSED, 1), else_=0)), *bands)
            .join(Policy, Policy.id == PremiumDue.policy_id)
            .group_by(PremiumDue.project_id, Policy.period_id)
            .order_by(PremiumDue.project_id, Policy.period_id))
    if project_id is not None:
        stmt = stmt.where(PremiumDue.project_id == project_id)
    return [Collection(int(pid), int(per), from_fen(int(due or 0)), from_fen(int(got or 0)),
                       int(lapsed or 0), tuple(from_fen(int(b or 0)) for b in ages))
            for pid, per, due, got, lapsed, *ages in db.execute(stmt)]
