"""Enrolment in bulk: many members into one product and period in a few set-based statements
(a group import, the demo, renewals), each refused line named with its problems and the rest
written with COPY.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.models import Product, SalePeriod
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.db import batched, by_index, copy_rows, one_of, reserve_ids, unique_or_conflict
from mutua.errors import Problem, ValidationFailed
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.members.models import Member
from mutua.money import ZERO, to_fen
from mutua.policies import domain, dues
from mutua.policies.models import Policy, PremiumDue, PremiumInvoice
from mutua.policies.service import Offer, already_holds, policy_numbers, quoter

CHUNK = 5000  # ids in one statement


class Enrolment(NamedTuple):
    """One member of a bulk enrolment (a tuple: an import makes a million of them)."""

    member_id: int
    row: int  # the caller's row number, to report problems against


@dataclass(frozen=True)
class BulkResult:
    enrolled: int
    problems: dict[int, list[Problem]]  # row -> problems
    premium_total: Decimal


def enrol_many(db: Session, *, product_code: str, period_code: str, enrolments: list[Enrolment],
               actor: Principal, on: date | None = None, reference: str = "bulk",
               all_or_nothing: bool = False, paid: bool = True, payer: str = "",
               book: bool = True) -> BulkResult:
    """Enrol many members at once with set-based statements; one ledger entry for the batch.

    Rows that break a rule are reported by row number and skipped (or, with all_or_nothing,
    nothing is enrolled at all). ``paid``: the group's premium came with the file and cover
    is written at once; otherwise one group invoice (``reference``, owed by ``payer``) owns
    a premium due per policy, and cover starts when the invoice is paid in its grace days.
    ``book=False`` writes paid enrolments only, leaving their
    ledger entry and audit record to one :func:`book_paid` for every part of a whole (an
    import's chunks), so a file is booked once whatever its size.
    """
    if not (book or paid):
        raise ValueError("enrolments written in parts are paid ones")
    on = on or shanghai_today()
    if not paid and not 1 <= len(reference) <= 32:
        raise ValidationFailed("reference", "must be 1 to %(limit)s characters", limit=32)
    product = catalog_service.get_product(db, code=product_code)
    period = catalog_service.get_period(db, product=product, code=period_code)
    refuse_kidney_products(product)
    cells = catalog_service.table_cells(db, table_id=period.coefficient_table_id)
    members = _members_by_id(db, [e.member_id for e in enrolments])
    held = _already_enrolled(db, product.id, period.id, list(members))
    rows, problems, seen = [], {}, set()
    quote_for = quoter(db, product=product, period=period, on=on, cells=cells)
    for e in enrolments:
        member = members.get(e.member_id)
        issues = _bulk_row_problems(member, e, held, seen, product, period)
        offer = None if issues else quote_for(member)
        if issues or offer.problems:
            problems[e.row] = issues or list(offer.problems)
            continue
        seen.add(e.member_id)
        rows.append((member, offer))
    if all_or_nothing and problems:
        return BulkResult(0, problems, ZERO)
    total = product.uniform_premium * len(rows)
    if not book:
        _insert_policies(db, product=product, period=period, rows=rows, on=on,
                         reference=reference)
        return BulkResult(len(rows), problems, total)
    write_batch(db, product=product, period=period, rows=rows, on=on, paid=paid,
                reference=reference, payer=payer, memo=f"{len(rows)} enrolments in")
    _record(db, actor=actor, product=product, period=period, count=len(rows),
            reference=reference, paid=paid)
    return BulkResult(len(rows), problems, total)


def refuse_kidney_products(product: Product) -> None:
    if product.line == "ckd":
        raise ValidationFailed("product_code", "kidney products are underwritten one by one on "
                                               "the applicant's own lab results")


def book_paid(db: Session, *, product_code: str, period_code: str, count: int, on: date,
              reference: str, actor: Principal) -> None:
    """The ledger entry and audit record of ``count`` paid enrolments that
    :func:`enrol_many` wrote in parts (``book=False``), as one call would have made them."""
    if not count:
        return
    product = catalog_service.get_product(db, code=product_code)
    period = catalog_service.get_period(db, product=product, code=period_code)
    _post_premiums(db, product=product, period=period, count=count, on=on,
                   reference=reference, memo=f"{count} enrolments in")
    _record(db, actor=actor, product=product, period=period, count=count, reference=reference,
            paid=True)


def _record(db: Session, *, actor: Principal, product: Product, period: SalePeriod, count: int,
            reference: str, paid: bool) -> None:
    if count:
        audit.record(db, actor=actor, action="policy.enrol_many", entity="product",
                     entity_id=product.id, project_id=product.project_id,
                     detail={"period": period.code, "count": count, "reference": reference,
                             "paid": paid})


def write_batch(db: Session, *, product: Product, period: SalePeriod,
                rows: list[tuple[Member, Offer]], on: date, paid: bool, reference: str,
                payer: str, memo: str, renewed_from: list[int] | None = None,
                invoice: bool = True) -> list[int]:
    """Quoted rows written as policies (a bulk enrolment, a group renewal): owed on one
    group invoice (or, with ``invoice=False``, each on a due of its own that its member
    pays, as members renewing themselves do), or paid, the batch's premium then posted in
    one entry ("premiums received: <memo> <product> <period>"). Returns the policy ids."""
    if rows and not paid:
        return _insert_unpaid(db, product=product, period=period, rows=rows, on=on,
                              reference=reference, payer=payer, renewed_from=renewed_from,
                              invoice=invoice)
    ids, _ = _insert_policies(db, product=product, period=period, rows=rows, on=on,
                              reference=reference, renewed_from=renewed_from)
    if rows:
        _post_premiums(db, product=product, period=period, count=len(rows), on=on,
                       reference=reference, memo=memo)
    return ids


def _post_premiums(db: Session, *, product: Product, period: SalePeriod, count: int, on: date,
                   reference: str, memo: str) -> None:
    """One entry for a batch's premiums: "premiums received: <memo> <product> <period>"."""
    ledger_service.post(db, L.JournalEntry.of(
        project_id=product.project_id, entry_date=on, kind="premium_batch",
        memo=f"premiums received: {memo} {product.code} {period.code}",
        reference=reference, postings=L.transfer(
            L.CASH, L.UNEARNED_PREMIUM, product.uniform_premium * count)))


def _bulk_row_problems(member, e, held, seen, product, period) -> list[Problem]:
    """What bars a row before eligibility is even looked at (quote checks the rest)."""
    if member is None:
        return [Problem("member", "member %(member)s not found", member=e.member_id)]
    if member.status != "active":
        return [Problem("member", "is not active")]
    if e.member_id in held or e.member_id in seen:
        return [Problem("policy", already_holds(product.code, period.code))]
    return []


def _members_by_id(db: Session, ids: list[int]) -> dict[int, Member]:
    """The columns enrolment reads (rows quack like Member; no ORM objects for 100,000s)."""
    out = {}
    cols = (Member.id, Member.status, Member.birth_date, Member.occupation_class)
    with by_index(db):  # the import's earlier chunks grew members
        for chunk in batched(ids, CHUNK):
            out.update({m.id: m for m in db.execute(select(*cols).where(one_of(db, Member.id, chunk)))})
    return out


def _already_enrolled(db: Session, product_id: int, period_id: int, ids: list[int]) -> set[int]:
    out = set()
    with by_index(db):  # the import's earlier chunks grew policies
        for chunk in batched(ids, CHUNK):
            out.update(db.scalars(select(Policy.member_id).where(
                Policy.product_id == product_id, Policy.period_id == period_id,
                one_of(db, Policy.member_id, chunk))))
    return out


def enrol_registered(db: Session, *, product: Product, period: SalePeriod, member_ids: list[int],
                     classes: list[int], offers: list[Offer], on: date, reference: str) -> Decimal:
    """Paid enrolments of members the caller registered in this transaction (new to the
    mutual: active, holding no policy, each once) and has quoted already, written without
    reading them back or quoting them again; booked afterwards by :func:`book_paid`, as
    ``enrol_many(book=False)`` leaves its rows. Returns the premium they bring."""
    refuse_kidney_products(product)
    if not member_ids:
        return ZERO
    _write_policies(db, product=product, period=period, member_ids=member_ids, classes=classes,
                    offers=offers, on=on, reference=reference)
    return product.uniform_premium * len(member_ids)


def _insert_policies(db: Session, *, product: Product, period: SalePeriod,
                     rows: list[tuple[Member, Offer]], on: date, reference: str,
                     paid: bool = True, renewed_from: list[int] | None = None,
                     ) -> tuple[list[int], list[str]]:
    """Policies for quoted (member, offer) rows: :func:`_write_policies`."""
    return _write_policies(db, product=product, period=period, member_ids=[m.id for m, _ in rows],
                           classes=[m.occupation_class for m, _ in rows],
                           offers=[o for _, o in rows], on=on, reference=reference, paid=paid,
                           renewed_from=renewed_from)


def _write_policies(db: Session, *, product: Product, period: SalePeriod, member_ids: list[int],
                    classes: list[int], offers: list[Offer], on: date, reference: str,
                    paid: bool = True, renewed_from: list[int] | None = None,
                    ) -> tuple[list[int], list[str]]:
    """Policies and their premium payments, written with COPY on PostgreSQL (executemany on
    SQLite) under the ORM; ids are reserved first so the payments can point at them. The
    members come as columns (id, occupation class, offer), not as an object a member.

    Unpaid policies are written with no cover and no payment (their dues keep the cover).
    """
    numbers = policy_numbers(db, len(member_ids))
    ids = reserve_ids(db, "policies", len(member_ids))
    premium, now = to_fen(product.uniform_premium), utcnow()

    def cover(o: Offer) -> tuple[date, date]:
        return (o.cover_start, o.cover_end) if paid else domain.no_cover(o.cover_start)

    copy_rows(db, "policies", [
        "id", "policy_number", "member_id", "cover_start", "cover_end", "age_at_start",
        "occupation_class", "coefficient", "renewed_from_id"],
        ((pid, num, mid, *cover(o), o.age, cls, o.coefficient, last)
         for mid, cls, o, num, pid, last in zip(member_ids, classes, offers, numbers, ids,
                                                renewed_from or [None] * len(ids), strict=True)),
        same={"project_id": product.project_id, "product_id": product.id,
              "period_id": period.id, "status": domain.IN_FORCE if paid else domain.UNPAID,
              "enrolled_on": on, "premium": premium, "refund": 0, "created_at": now})
    if paid:
        copy_rows(db, "premium_payments", ["policy_id"], ((pid,) for pid in ids),
                  same={"project_id": product.project_id, "amount": premium, "paid_on": on,
                        "kind": "premium", "reference": reference})
    return ids, numbers


def _insert_unpaid(db: Session, *, product: Product, period: SalePeriod,
                   rows: list[tuple[Member, Offer]], on: date, reference: str,
                   payer: str, renewed_from: list[int] | None = None,
                   invoice: bool = True) -> list[int]:
    """A group's policies awaiting one invoice (or their own dues): the invoice, the
    policies with no cover and a due per policy keeping its cover, in bulk; members told
    their premium is due; Dr premium receivable / Cr unearned."""
    total = product.uniform_premium * len(rows)
    grace_end = domain.grace_end(on, product.grace_days)
    invoice_id = None
    if invoice:
        bill = PremiumInvoice(project_id=product.project_id, reference=reference[:32],
                              payer=payer[:100], product_id=product.id, period_id=period.id,
                              policies=len(rows), amount=total, paid=ZERO, due_on=on,
                              grace_end=grace_end, state=dues.OPEN)
        db.add(bill)
        with unique_or_conflict(f"invoice {reference} already exists in this project"):
            db.flush()
        invoice_id = bill.id
    ids, numbers = _insert_policies(db, product=product, period=period, rows=rows, on=on,
                                    reference=reference, paid=False, renewed_from=renewed_from)
    copy_rows(db, "premium_dues", ["policy_id", "member_id", "reference", "cover_start",
                                   "cover_end"],
              ((pid, m.id, num, o.cover_start, o.cover_end)
               for (m, o), num, pid in zip(rows, numbers, ids, strict=True)),
              same={"project_id": product.project_id, "invoice_id": invoice_id,
                    "amount": to_fen(product.uniform_premium), "paid": 0, "due_on": on,
                    "grace_end": grace_end, "state": dues.OPEN, "created_at": utcnow()})
    if invoice_id is not None:
        dues.tell_written(db, PremiumDue.invoice_id == invoice_id)
    else:
        for chunk in batched(ids, CHUNK):
            dues.tell_written(db, one_of(db, PremiumDue.policy_id, chunk))
    ledger_service.post(db, L.JournalEntry.of(
        project_id=product.project_id, entry_date=on, kind="premium_invoice",
        memo=f"{'group invoice ' if invoice else 'premiums due '}{reference}: "
             f"{len(rows)} premiums due", reference=reference[:64],
        postings=L.transfer(L.PREMIUM_RECEIVABLE, L.UNEARNED_PREMIUM, total)))
    return ids
