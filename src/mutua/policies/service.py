"""Enrolment, premiums, cancellation, cover on a date, and sum-insured uplifts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import numpy as np
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, joinedload

from mutua import numbering
from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import domain as catalog_domain
from mutua.catalog import service as catalog_service
from mutua.catalog.models import Benefit, Product, Project, SalePeriod
from mutua.dates import age_on, utcnow
from mutua.dates import today as shanghai_today
from mutua.db import copy_rows, one_of, page_total, reserve_ids, unique_or_conflict
from mutua.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.members import dependants
from mutua.members.models import Member
from mutua.money import ZERO, from_fen, to_fen
from mutua.payments import provider
from mutua.policies import domain, dues, underwriting
from mutua.policies.models import (
    Policy,
    PremiumDue,
    PremiumInvoice,
    PremiumPayment,
    SumInsuredUplift,
)

CHUNK = 5000


def policy_numbers(db: Session, count: int) -> list[str]:
    return [f"P{n:010d}" for n in numbering.reserve(db, "policy", count)]


def policy_number_now(db: Session) -> str:
    """One policy number without holding the counter until the enrolment commits."""
    return f"P{numbering.reserve_now(db, 'policy')[0]:010d}"


@dataclass(frozen=True)
class Offer:
    """What a member would get: cover dates, coefficient, premium; or why not."""

    cover_start: date
    cover_end: date
    age: int
    coefficient: Decimal | None
    problems: tuple[Problem, ...]


def quote(db: Session, *, member: Member, product: Product, period: SalePeriod, on: date,
          cells: list[catalog_domain.Cell] | None = None) -> Offer:
    start, end = domain.cover_dates(period_cover_start=period.cover_start, enrolled_on=on,
                                    term_days=product.term_days)
    rules = domain.ProductRules(product.code, product.min_age, product.max_age,
                                tuple(product.allowed_classes), period.sale_start, period.sale_end)
    problems = domain.eligibility_problems(rules, birth_date=member.birth_date,
                                           occupation_class=member.occupation_class,
                                           cover_start=start, on=on)
    age = age_on(member.birth_date, start)
    cells = cells if cells is not None else catalog_service.table_cells(
        db, table_id=period.coefficient_table_id)
    coef = catalog_domain.coefficient_for(cells, age=age, occupation_class=member.occupation_class)
    if coef is None and not problems:
        problems.append(Problem("coefficient", f"no coefficient for age {age}, class "
                                               f"{member.occupation_class}"))
    return Offer(start, end, age, coef, tuple(problems))


def quoter(db: Session, *, product: Product, period: SalePeriod, on: date,
           cells: list[catalog_domain.Cell]):
    """:func:`quote` for the members of one bulk enrolment: every member's cover starts on
    the same day, so an offer depends only on the age then and the occupation class, and
    each pair is quoted once (a million-row group file holds a few hundred pairs)."""
    start, _ = domain.cover_dates(period_cover_start=period.cover_start, enrolled_on=on,
                                  term_days=product.term_days)
    offers: dict[tuple[int, int], Offer] = {}

    def offer(member) -> Offer:
        key = (age_on(member.birth_date, start), member.occupation_class)
        found = offers.get(key)
        if found is None:
            found = offers[key] = quote(db, member=member, product=product, period=period,
                                        on=on, cells=cells)
        return found

    return offer


def enrol(db: Session, *, member_id: int, product_code: str, period_code: str, actor: Principal,
          on: date | None = None, payment_reference: str = "", paid: bool = True,
          declaration: dict[str, str] | None = None, auto_renew: bool = False) -> Policy:
    """Enrol one member in a product's open period.

    ``paid``: the premium was received with the enrolment (at the counter) and cover is
    written at once; otherwise a premium due is opened and the policy covers nothing until
    it is paid within the product's grace days (policies.dues). The policy is flushed, so its
    id is known; ``policy.product`` and ``policy.period`` are the catalogue rows it was quoted
    from. ``declaration``: the answers to the product's health declaration (question code ->
    "yes"/"no"), required when the product asks one and kept with the policy.
    """
    on = on or shanghai_today()
    if actor.is_member and not acts_for(db, actor=actor, member_id=member_id):
        raise Forbidden("members enrol only themselves and the dependants they pay for")
    member = db.get(Member, member_id)
    if member is None or member.status != "active":
        raise NotFound(f"member {member_id} not found or not active")
    product, period = catalog_service.product_and_period(db, product_code=product_code,
                                                         period_code=period_code)
    offer = quote(db, member=member, product=product, period=period, on=on)
    questions = (product.underwriting or {}).get("declaration") or []
    problems = [*offer.problems, *domain.declaration_problems(questions, declaration or {})]
    if problems:
        raise ValidationFailed(problems)
    if product.line == "ckd":
        # Underwriting reads health data (and audits the read): refuse a second policy first.
        # Other lines rely on the unique (member, product, period) key at the flush below.
        if db.scalar(select(Policy.id).where(Policy.member_id == member_id,
                                             Policy.product_id == product.id,
                                             Policy.period_id == period.id)):
            raise Conflict(already_holds(product_code, period_code))
        underwriting.underwrite(db, member_id=member_id, product=product, on=on)
    policy = Policy(
        policy_number=policy_number_now(db), project_id=product.project_id,
        product_id=product.id, period_id=period.id, member_id=member_id, enrolled_on=on,
        cover_start=offer.cover_start, cover_end=offer.cover_end,
        premium=product.uniform_premium, age_at_start=offer.age,
        occupation_class=member.occupation_class, coefficient=offer.coefficient,
        declaration=domain.declaration_record(questions, declaration) if questions else None,
        auto_renew=auto_renew,  # the member's consent to renewal (policies.renewal_offers)
    )
    db.add(policy)
    with unique_or_conflict(already_holds(product_code, period_code)):
        db.flush()  # an enrolment of the same member that committed since the check above
    if paid:
        _record_premium(db, policy=policy, reference=payment_reference, on=on)
    else:
        dues.open_due(db, policy=policy, grace_days=product.grace_days, on=on)
    audit.record(db, actor=actor, action="policy.enrol", entity="policy", entity_id=policy.id,
                 project_id=policy.project_id, detail={"product": product_code,
                                                       "period": period_code, "paid": paid})
    return policy


def already_holds(product_code: str, period_code: str) -> str:
    return f"member already holds a {product_code} policy for period {period_code}"


def _record_premium(db: Session, *, policy: Policy, reference: str, on: date) -> None:
    db.add(PremiumPayment(project_id=policy.project_id, policy_id=policy.id,
                          amount=policy.premium, paid_on=on, reference=reference))
    ledger_service.post(db, L.JournalEntry.of(
        project_id=policy.project_id, entry_date=on, kind="premium",
        memo=f"premium received for {policy.policy_number}", reference=policy.policy_number,
        postings=L.transfer(L.CASH, L.UNEARNED_PREMIUM, policy.premium)))


class Enrolment(NamedTuple):
    """One member of a bulk enrolment (a tuple: an import makes a million of them)."""

    member_id: int
    row: int  # the caller's row number, to report problems against


class MemberFacts(NamedTuple):
    """What enrolment reads of a member (the columns :func:`_members_by_id` selects)."""

    id: int
    status: str
    birth_date: date
    occupation_class: int


@dataclass(frozen=True)
class BulkResult:
    enrolled: int
    problems: dict[int, list[Problem]]  # row -> problems
    premium_total: Decimal


def enrol_many(db: Session, *, product_code: str, period_code: str, enrolments: list[Enrolment],
               actor: Principal, on: date | None = None, reference: str = "bulk",
               all_or_nothing: bool = False, paid: bool = True, payer: str = "",
               known: dict[int, MemberFacts] | None = None) -> BulkResult:
    """Enrol many members at once with set-based statements; one ledger entry for the batch.

    Rows that break a rule are reported by row number and skipped (or, with all_or_nothing,
    nothing is enrolled at all). ``paid``: the group's premium came with the file and cover
    is written at once; otherwise one group invoice (``reference``, owed by ``payer``) owns
    a premium due per policy, and cover starts when the invoice is paid in its grace days.
    ``known`` holds the facts of members the caller has just registered in this transaction,
    which are then not read back.
    """
    on = on or shanghai_today()
    if not paid and not 1 <= len(reference) <= 32:
        raise ValidationFailed("reference", "must be 1 to 32 characters")
    product = catalog_service.get_product(db, code=product_code)
    period = catalog_service.get_period(db, product=product, code=period_code)
    if product.line == "ckd":
        raise ValidationFailed("product_code", "kidney products are underwritten one by one on "
                                               "the applicant's own lab results")
    cells = catalog_service.table_cells(db, table_id=period.coefficient_table_id)
    known = known or {}
    members = _members_by_id(db, [e.member_id for e in enrolments if e.member_id not in known])
    members.update(known)
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
    write_batch(db, product=product, period=period, rows=rows, on=on, paid=paid,
                reference=reference, payer=payer, memo=f"{len(rows)} enrolments in")
    if rows:
        audit.record(db, actor=actor, action="policy.enrol_many", entity="product",
                     entity_id=product.id, project_id=product.project_id,
                     detail={"period": period_code, "count": len(rows), "reference": reference,
                             "paid": paid})
    return BulkResult(len(rows), problems, total)


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
        ledger_service.post(db, L.JournalEntry.of(
            project_id=product.project_id, entry_date=on, kind="premium_batch",
            memo=f"premiums received: {memo} {product.code} {period.code}",
            reference=reference, postings=L.transfer(
                L.CASH, L.UNEARNED_PREMIUM, product.uniform_premium * len(rows))))
    return ids


def _bulk_row_problems(member, e, held, seen, product, period) -> list[Problem]:
    """What bars a row before eligibility is even looked at (quote checks the rest)."""
    if member is None:
        return [Problem("member", f"member {e.member_id} not found")]
    if member.status != "active":
        return [Problem("member", "is not active")]
    if e.member_id in held or e.member_id in seen:
        return [Problem("policy", already_holds(product.code, period.code))]
    return []


def _members_by_id(db: Session, ids: list[int]) -> dict[int, Member]:
    """The columns enrolment reads (rows quack like Member; no ORM objects for 100,000s)."""
    out = {}
    cols = (Member.id, Member.status, Member.birth_date, Member.occupation_class)
    for start in range(0, len(ids), CHUNK):
        out.update({m.id: m for m in db.execute(
            select(*cols).where(one_of(db, Member.id, ids[start:start + CHUNK])))})
    return out


def _already_enrolled(db: Session, product_id: int, period_id: int, ids: list[int]) -> set[int]:
    out = set()
    for start in range(0, len(ids), CHUNK):
        out.update(db.scalars(select(Policy.member_id).where(
            Policy.product_id == product_id, Policy.period_id == period_id,
            one_of(db, Policy.member_id, ids[start:start + CHUNK]))))
    return out


def _insert_policies(db: Session, *, product: Product, period: SalePeriod,
                     rows: list[tuple[Member, Offer]], on: date, reference: str,
                     paid: bool = True, renewed_from: list[int] | None = None,
                     ) -> tuple[list[int], list[str]]:
    """Policies and their premium payments, written with COPY on PostgreSQL (executemany on
    SQLite) under the ORM; ids are reserved first so the payments can point at them.

    Unpaid policies are written with no cover and no payment (their dues keep the cover).
    """
    numbers = policy_numbers(db, len(rows))
    ids = reserve_ids(db, "policies", len(rows))
    premium, now = to_fen(product.uniform_premium), utcnow()

    def cover(o: Offer) -> tuple[date, date]:
        return (o.cover_start, o.cover_end) if paid else domain.no_cover(o.cover_start)

    copy_rows(db, "policies", [
        "id", "policy_number", "member_id", "cover_start", "cover_end", "age_at_start",
        "occupation_class", "coefficient", "renewed_from_id"],
        ((pid, num, m.id, *cover(o), o.age, m.occupation_class, o.coefficient, last)
         for (m, o), num, pid, last in zip(rows, numbers, ids, renewed_from or [None] * len(rows),
                                           strict=True)),
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
        for start in range(0, len(ids), CHUNK):
            dues.tell_written(db, one_of(db, PremiumDue.policy_id, ids[start:start + CHUNK]))
    ledger_service.post(db, L.JournalEntry.of(
        project_id=product.project_id, entry_date=on, kind="premium_invoice",
        memo=f"{'group invoice ' if invoice else 'premiums due '}{reference}: "
             f"{len(rows)} premiums due", reference=reference[:64],
        postings=L.transfer(L.PREMIUM_RECEIVABLE, L.UNEARNED_PREMIUM, total)))
    return ids


def cancel(db: Session, *, policy_id: int, actor: Principal, on: date | None = None,
           reason: str = "") -> Policy:
    """Cancel: full refund in the 15-day cooling-off period, else the unearned premium."""
    on = on or shanghai_today()
    if len(reason) > 64:  # it becomes the refund payment's reference
        raise ValidationFailed("reason", "must be at most 64 characters")
    policy = get(db, policy_id=policy_id, actor=actor)
    if policy.status == domain.UNPAID and dues.cancel_due(db, policy=policy, on=on):
        policy.status, policy.cancelled_on = domain.CANCELLED, on
        audit.record(db, actor=actor, action="policy.cancel", entity="policy",
                     entity_id=policy.id, project_id=policy.project_id,
                     detail={"refund": "0", "unpaid": True})
        db.flush()
        return policy
    refund = refund_quote(policy, on=on, product=db.get(Product, policy.product_id))
    _return_unearned_uplifts(db, policy, new_end=refund.cover_end)
    policy.status, policy.cancelled_on = "cancelled", on
    policy.cover_end, policy.refund = refund.cover_end, refund.amount
    if refund.amount > 0:
        db.add(PremiumPayment(project_id=policy.project_id, policy_id=policy.id,
                              amount=-refund.amount, paid_on=on, kind="refund", reference=reason))
        refund_id = _pay_refund(db, policy=policy, amount=refund.amount, on=on)
    audit.record(db, actor=actor, action="policy.cancel", entity="policy", entity_id=policy.id,
                 project_id=policy.project_id,
                 detail={"refund": str(refund.amount), "cooling_off": refund.cooling_off,
                         "refund_id": refund_id if refund.amount > 0 else None})
    db.flush()
    return policy


def _pay_refund(db: Session, *, policy: Policy, amount: Decimal, on: date) -> str:
    """The unearned premium becomes a refund owed (Dr unearned / Cr refunds payable), sent
    back through the payment provider (Dr refunds payable / Cr cash); the provider's refund
    id is the second entry's reference."""
    ledger_service.post(db, L.JournalEntry.of(
        project_id=policy.project_id, entry_date=on, kind="premium_refund",
        memo=f"refund on cancelling {policy.policy_number}", reference=policy.policy_number,
        postings=L.transfer(L.UNEARNED_PREMIUM, L.PREMIUM_REFUNDS_PAYABLE, amount)))
    refund_id = provider.get("fake").refund(project_id=policy.project_id,
                                            reference=policy.policy_number, amount=amount)
    ledger_service.post(db, L.JournalEntry.of(
        project_id=policy.project_id, entry_date=on, kind="premium_refund_paid",
        memo=f"refund paid for {policy.policy_number}", reference=refund_id,
        postings=L.transfer(L.PREMIUM_REFUNDS_PAYABLE, L.CASH, amount)))
    return refund_id


def _return_unearned_uplifts(db: Session, policy: Policy, *, new_end: date) -> None:
    """The cover a cancelled policy will not use was bought with the pool's surplus: each
    uplift's unearned part goes back to the pool (the next close books it and says so)."""
    for u in db.scalars(select(SumInsuredUplift).where(SumInsuredUplift.policy_id == policy.id)):
        u.returned = from_fen(domain.returned_uplift(
            to_fen(u.money), u.effective_from, policy.cover_end, new_end))


def refund_quote(policy: Policy, *, on: date, product: Product) -> domain.Refund:
    """What cancelling ``policy`` on ``on`` would refund, without changing anything.

    Full premium inside the 15-day cooling-off period (犹豫期), else the unearned part less
    the product's cancellation fee (its terms: a fixed fee and a share of the unearned).
    Raises Conflict when the policy can no longer be cancelled (cancelled or ended), the
    same refusal :func:`cancel` gives.
    """
    if policy.status != "in_force":
        raise Conflict(f"policy {policy.policy_number} is {policy.status}, not in force")
    if on > policy.cover_end:
        raise Conflict(f"policy {policy.policy_number} has already expired")
    return domain.refund_on_cancel(premium=policy.premium, enrolled_on=policy.enrolled_on,
                                   cover_start=policy.cover_start, cover_end=policy.cover_end,
                                   cancel_on=on, fee=product.cancellation_fee,
                                   fee_rate=product.cancellation_fee_rate)


def get(db: Session, *, policy_id: int, actor: Principal) -> Policy:
    """A policy; a member asking for another member's policy (not a dependant's they pay
    for) gets NotFound."""
    policy = db.get(Policy, policy_id)
    if policy is None or (actor.is_member
                          and not acts_for(db, actor=actor, member_id=policy.member_id)):
        raise NotFound(f"policy {policy_id} not found")
    return policy


def acts_for(db: Session, *, actor: Principal, member_id: int) -> bool:
    """A member acts for themself and for the dependants they pay for (members.dependants)."""
    return actor.member_id == member_id or dependants.pays_for(
        db, payer_id=actor.member_id, member_id=member_id)


def check_may_read_member(*, member_id: int, actor: Principal) -> None:
    """Staff read any member's policies; a member only their own (another's is not found)."""
    if actor.is_member and actor.member_id != member_id:
        raise NotFound(f"member {member_id} not found")


def list_for_member(db: Session, *, member_id: int, actor: Principal, limit: int = 100,
                    offset: int = 0) -> tuple[list[Policy], int]:
    check_may_read_member(member_id=member_id, actor=actor)
    where = Policy.member_id == member_id
    rows = list(db.scalars(select(Policy).where(where)
                           .order_by(Policy.cover_start.desc(), Policy.id)
                           .limit(limit).offset(offset)))
    return rows, page_total(db, rows, limit=limit, offset=offset,
                            count=select(func.count()).select_from(Policy).where(where))


def in_force_and_paid_on(on: date):
    """SQL condition: the policy covers ``on`` (domain.in_force_and_paid, as a WHERE)."""
    return and_(Policy.status == domain.IN_FORCE, Policy.cover_start <= on,
                Policy.cover_end >= on)


def is_owner(db: Session, *, member_id: int, on: date | None = None) -> bool:
    """A member holds owner's rights while any of their policies is in force."""
    on = on or shanghai_today()
    return db.scalar(select(Policy.id).where(
        Policy.member_id == member_id, in_force_and_paid_on(on)).limit(1)) is not None


def check_covers_claims(policy: Policy) -> None:
    """Refuse a claim on a policy whose premium is unpaid or which lapsed unpaid, saying so
    (before its dates, which for such a policy cover nothing)."""
    problem = domain.claim_cover_problem(policy.status)
    if problem is not None:
        raise ValidationFailed([problem])


def cover_on(db: Session, *, policy_id: int, on: date) -> domain.PolicyCover:
    """The policy and each benefit's sum insured as it stood on ``on`` (uplifts included)."""
    policy = db.get(Policy, policy_id)
    if policy is None:
        raise NotFound(f"policy {policy_id} not found")
    return covers_of(db, policies=[policy], on_for=lambda _: on)[policy.id]


def covers_of(db: Session, *, policies: list[Policy], on_for: Callable[[Policy], date],
              history: dict[int, list[tuple[str, SumInsuredUplift]]] | None = None,
              ) -> dict[int, domain.PolicyCover]:
    """Cover of many policies in two queries (products with benefits, uplifts), not per policy.

    A caller that already read the uplift ``history`` (uplifts_of) passes it: one query fewer.
    """
    if not policies:
        return {}
    products = {p.id: p for p in db.scalars(
        select(Product).where(Product.id.in_({p.product_id for p in policies}))
        .options(joinedload(Product.benefits))).unique()}
    if history is None:
        history = uplifts_of(db, policy_ids=[p.id for p in policies])
    added = {pid: [(u.benefit_id, u.effective_from, u.sum_insured_added) for _code, u in rows]
             for pid, rows in history.items()}
    return {p.id: _cover(p, products[p.product_id], added.get(p.id, []), on_for(p))
            for p in policies}


def covers_at(db: Session, *, pairs: Collection[tuple[int, date]],
              ) -> dict[tuple[int, date], domain.PolicyCover]:
    """Cover of many (policy id, date) pairs: what the claims of many policies are paid
    against (a payment batch). Policies and uplifts are read once, products once a date.
    """
    ids = sorted({pid for pid, _on in pairs})
    policies: dict[int, Policy] = {}
    for s in range(0, len(ids), CHUNK):
        policies.update((p.id, p) for p in db.scalars(
            select(Policy).where(Policy.id.in_(ids[s:s + CHUNK]))))
    history = uplifts_of(db, policy_ids=ids)
    by_date: dict[date, list[Policy]] = defaultdict(list)
    for pid, on in set(pairs):
        by_date[on].append(policies[pid])
    out: dict[tuple[int, date], domain.PolicyCover] = {}
    for on, group in by_date.items():
        covers = covers_of(db, policies=group, on_for=lambda _p, on=on: on, history=history)
        out.update(((pid, on), cover) for pid, cover in covers.items())
    return out


def _cover(policy: Policy, product: Product, uplifts: list[tuple[int, date, Decimal]],
           on: date) -> domain.PolicyCover:
    by_benefit = domain.uplift_in_effect(uplifts, on)
    benefits = tuple(_benefit_cover(b, policy, product, by_benefit[b.id]) for b in product.benefits)
    return domain.PolicyCover(
        policy_id=policy.id, policy_number=policy.policy_number, project_id=policy.project_id,
        member_id=policy.member_id, product_code=product.code, line=product.line,
        status=policy.status, enrolled_on=policy.enrolled_on, cover_start=policy.cover_start,
        cover_end=policy.cover_end, occupation_class=policy.occupation_class,
        allowed_classes=tuple(product.allowed_classes), exclusions=tuple(product.exclusions),
        coefficient=policy.coefficient, benefits=benefits)


def _benefit_cover(b: Benefit, policy: Policy, product: Product, uplift) -> domain.BenefitCover:
    # SUM over a Money column comes back through the Money type as yuan already.
    uplift = Decimal(uplift)
    base, total = domain.sums_insured(b.base_sum_insured, policy.coefficient, uplift)
    return domain.BenefitCover(
        benefit_id=b.id, code=b.code, kind=b.kind, sum_insured=total,
        base_sum_insured=base, uplift=uplift, deductible=b.deductible,
        coinsurance_with_social=b.coinsurance_with_social,
        coinsurance_without_social=b.coinsurance_without_social,
        daily_amount=domain.scaled_sum_insured(b.daily_amount, policy.coefficient)
        if b.daily_amount is not None else None,
        max_days=b.max_days, shares_sum_insured_with=b.shares_sum_insured_with,
        # A renewal continues cover without a gap: no waiting period starts again.
        waiting_days=0 if policy.renewed_from_id is not None
        else b.waiting_days if b.waiting_days is not None else product.waiting_days)


def uplifts_of(db: Session, *, policy_ids: list[int]) -> dict[int, list[tuple[str, SumInsuredUplift]]]:
    """Each policy's uplift history with the benefit code, oldest first, in one query."""
    out: dict[int, list[tuple[str, SumInsuredUplift]]] = defaultdict(list)
    for code, u in db.execute(
            select(Benefit.code, SumInsuredUplift)
            .join(Benefit, Benefit.id == SumInsuredUplift.benefit_id)
            .where(SumInsuredUplift.policy_id.in_(policy_ids))
            .order_by(SumInsuredUplift.effective_from, Benefit.id)).all():
        out[u.policy_id].append((code, u))
    return out


def codes_of(db: Session, *, policies: list[Policy]) -> tuple[dict[int, str], dict[int, str]]:
    """Project codes by project id and period codes by period id, for display."""
    projects: dict[int, str] = {}
    periods: dict[int, str] = {}
    # One query: a policy's project is its product's, so the periods lead to the projects.
    for period_id, period_code, project_id, project_code in db.execute(
            select(SalePeriod.id, SalePeriod.code, Project.id, Project.code)
            .join(Product, Product.id == SalePeriod.product_id)
            .join(Project, Project.id == Product.project_id)
            .where(SalePeriod.id.in_({p.period_id for p in policies}))):
        periods[period_id] = period_code
        projects[project_id] = project_code
    return projects, periods


def record_uplifts(db: Session, *, project_id: int, quarter: str, effective_from: date,
                   policy_ids: np.ndarray, benefit_ids: np.ndarray, money_fen: np.ndarray,
                   sum_insured_fen: np.ndarray) -> int:
    """Bulk-insert uplift rows (columns of equal length, amounts in integer fen).

    A close writes millions of rows, so this goes under the ORM: COPY on PostgreSQL and
    executemany of plain tuples (50,000 a statement) on SQLite, in the caller's transaction.
    """
    n = len(policy_ids)
    if n == 0:
        return 0
    names = ["project_id", "policy_id", "benefit_id", "quarter", "effective_from", "money",
             "sum_insured_added"]
    cols = [np.asarray(c, dtype=np.int64).tolist()
            for c in (policy_ids, benefit_ids, money_fen, sum_insured_fen)]
    day = effective_from.isoformat()
    rows = ((project_id, p, b, quarter, day, m, si) for p, b, m, si in zip(*cols, strict=True))
    conn = db.connection()
    raw = conn.connection.dbapi_connection
    table = SumInsuredUplift.__tablename__
    if conn.dialect.name == "postgresql":
        prefix, middle = f"{project_id}\t", f"\t{quarter}\t{day}\t"
        with raw.cursor() as cur, cur.copy(
                f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for start in range(0, n, 100_000):  # tab-separated text, 100,000 rows a write
                part = zip(*(c[start:start + 100_000] for c in cols), strict=True)
                copy.write("".join(f"{prefix}{p}\t{b}{middle}{m}\t{si}\n"
                                   for p, b, m, si in part))
        return n
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    cur = raw.cursor()
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == 50_000:
            cur.executemany(sql, batch)
            batch.clear()
    if batch:
        cur.executemany(sql, batch)
    return n


def in_force_counts(db: Session, *, on: date) -> dict[int, tuple[int, int]]:
    """Per project: (policies in force, members in force) on a date, in one GROUP BY.

    Read by the staff dashboard; no personal data leaves.
    """
    rows = db.execute(
        select(Policy.project_id, func.count(Policy.id), func.count(Policy.member_id.distinct()))
        .where(in_force_and_paid_on(on)).group_by(Policy.project_id)).all()
    return {pid: (int(n), int(m)) for pid, n, m in rows}


def payments_of_member(db: Session, *, member_id: int, actor: Principal,
                       limit: int = 200) -> list:
    """A member's premiums paid and refunded, newest first, with the policy number: what
    the receipts are made from (members: their own only)."""
    check_may_read_member(member_id=member_id, actor=actor)
    return list(db.execute(
        select(PremiumPayment.id, PremiumPayment.amount, PremiumPayment.paid_on,
               PremiumPayment.kind, PremiumPayment.reference, Policy.policy_number,
               Policy.project_id, Policy.product_id)
        .join(Policy, Policy.id == PremiumPayment.policy_id)
        .where(Policy.member_id == member_id)
        .order_by(PremiumPayment.paid_on.desc(), PremiumPayment.id.desc()).limit(limit)))
