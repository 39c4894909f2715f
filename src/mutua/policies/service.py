"""Enrolment of one member, the offer a member is quoted, and reading policies: a member's
policies and payments, whether they may act for a member, and the counts in force.

Beside it: enrolment in bulk (bulk_enrolment.py), cancellation and its refund
(cancellation.py), and the cover a policy gives on a date with its uplifts (cover.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple, Protocol

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session, make_transient_to_detached

from mutua import numbering
from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import domain as catalog_domain
from mutua.catalog import service as catalog_service
from mutua.catalog.models import Product, SalePeriod
from mutua.catalog.service import PeriodTerms, ProductTerms
from mutua.dates import age_on
from mutua.dates import today as shanghai_today
from mutua.db import OneRow, page_total, unique_or_conflict, with_column_defaults
from mutua.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed, Worded
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.members import dependants
from mutua.members.models import Member
from mutua.policies import domain, dues, underwriting, views
from mutua.policies.models import Policy, PremiumPayment


def policy_numbers(db: Session, count: int) -> list[str]:
    return [_policy_number(n) for n in numbering.reserve(db, "policy", count)]


def _policy_number(n: int) -> str:
    return f"P{n:0{POLICY_DIGITS}d}"


def _insert_policy(db: Session, values: dict, drawn: Drawn | None) -> Policy:
    """Write one policy with a statement built once and return it as the session holds a
    policy it has read, so later changes (an unpaid policy's status) flush as updates.

    ``values`` name every column (db.with_column_defaults); its id and number are
    ``drawn`` by the enrolment's first read (PostgreSQL), or made here (SQLite: the id by the
    INSERT, the number by numbering). An ORM flush of the same row cost three times the CPU
    (525 against 160-270 us measured), and returning every column another 45 us of reading
    back what was sent; enrolment is the busiest write. Pending ORM changes are flushed
    first, so the statement sees what a flush would have written before.
    """
    db.flush()
    if drawn is None:
        number = _policy_number(numbering.reserve_now(db, "policy")[0])
        drawn = Drawn(*db.connection().execute(_INSERT, {**values, "policy_number": number}).one())
    else:
        db.connection().execute(_INSERT, _row_values(values, drawn))
    return _attached(db, _policy(values, drawn))


class Drawn(NamedTuple):
    """A new policy's id and number."""

    id: int
    policy_number: str


def _row_values(values: dict, drawn: Drawn) -> dict:
    return {**values, "id": drawn.id, "policy_number": drawn.policy_number}


def _policy(values: dict, drawn: Drawn) -> Policy:
    return Policy(**_row_values(values, drawn))


def _attached(db: Session, policy: Policy) -> Policy:
    """A policy this unit of work has written, held by the session as if it had read it."""
    make_transient_to_detached(policy)  # persistent once added, so no INSERT of its own
    db.add(policy)
    return policy


POLICY_DIGITS = 10
_POLICIES = Policy.__table__
_INSERT = _POLICIES.insert().returning(_POLICIES.c.id, _POLICIES.c.policy_number)
# What the first read draws on PostgreSQL for the policy it may write: its id, and the number
# that _policy_number writes out (the sequence ends at 10 digits, migration 0022).
_DRAWN_ID = func.nextval(func.pg_get_serial_sequence(_POLICIES.name, "id"))
_DRAWN_NUMBER = numbering.SEQUENCES["policy"].next_value()


@dataclass(frozen=True)
class Offer:
    """What a member would get: cover dates, coefficient, premium; or why not."""

    cover_start: date
    cover_end: date
    age: int
    coefficient: Decimal | None
    problems: tuple[Problem, ...]


class Quoted(Protocol):
    """What a quote reads of a person: a Member, or a row of the two columns."""

    birth_date: date
    occupation_class: int


def quote(db: Session, *, member: Quoted, product: Product | ProductTerms,
          period: SalePeriod | PeriodTerms, on: date,
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
        problems.append(Problem("coefficient", "no coefficient for age %(age)s, class %(cls)s",
                                age=age, cls=member.occupation_class))
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
    it is paid within the product's grace days (policies.dues). The policy is written, so its
    id is known. ``declaration``: the answers to the product's health declaration (question
    code -> "yes"/"no"), required when the product asks one and kept with the policy.
    """
    on = on or shanghai_today()
    if actor.is_member and not acts_for(db, actor=actor, member_id=member_id):
        raise Forbidden("members enrol only themselves and the dependants they pay for")
    member, product, period, cells, drawn = _enrolling(
        db, member_id=member_id, product_code=product_code, period_code=period_code)
    offer = quote(db, member=member, product=product, period=period, on=on, cells=cells)
    questions = (product.underwriting or {}).get("declaration") or []
    problems = [*offer.problems, *domain.declaration_problems(questions, declaration or {})]
    if problems:
        raise ValidationFailed(problems)
    if product.line == "ckd":
        # Underwriting reads health data (and audits the read): refuse a second policy first.
        # Other lines rely on the unique (member, product, period) key at the write below.
        if db.scalar(select(Policy.id).where(Policy.member_id == member_id,
                                             Policy.product_id == product.id,
                                             Policy.period_id == period.id)):
            raise Conflict(already_holds(product_code, period_code))
        underwriting.underwrite(db, member_id=member_id, product=product, on=on)
    values = with_column_defaults(_POLICIES, dict(
        project_id=product.project_id, product_id=product.id, period_id=period.id,
        member_id=member_id, enrolled_on=on, cover_start=offer.cover_start,
        cover_end=offer.cover_end, premium=product.uniform_premium, age_at_start=offer.age,
        occupation_class=member.occupation_class, coefficient=offer.coefficient,
        declaration=domain.declaration_record(questions, declaration) if questions else None,
        auto_renew=auto_renew,  # the member's consent to renewal (policies.renewal_offers)
    ), leave=Drawn._fields)  # status, refund, created_at... as the model fills them
    return _write_enrolment(db, values, drawn=drawn, actor=actor, on=on, paid=paid,
                            reference=payment_reference, grace_days=product.grace_days,
                            detail={"product": product_code, "period": period_code, "paid": paid})


def _write_enrolment(db: Session, values: dict, *, drawn: Drawn | None, actor: Principal,
                     on: date, paid: bool, reference: str, grace_days: int,
                     detail: dict) -> Policy:
    """The policy (``values``), the enrolment's audit event, and the premium taken with it
    (``paid``) or the premium due. On PostgreSQL a paid enrolment is one statement: the
    policy, whose id and number the first read ``drawn``, the premium, its entry in the
    books and the event. A clash at the policy's unique key (an enrolment of the same member
    that committed since the first read) is a Conflict."""
    clash = unique_or_conflict(already_holds(detail["product"], detail["period"]))
    if paid and drawn is not None:
        policy = _policy(values, drawn)
        with clash:
            _record_premium(db, policy=policy, reference=reference, on=on,
                            audited=_enrol_event(actor, policy, detail),
                            unwritten=_row_values(values, drawn))
        return _attached(db, policy)
    with clash:
        policy = _insert_policy(db, values, drawn)
    if paid:
        _record_premium(db, policy=policy, reference=reference, on=on,
                        audited=_enrol_event(actor, policy, detail))
    else:
        dues.open_due(db, policy=policy, grace_days=grace_days, on=on)
        db.execute(_enrol_event(actor, policy, detail).statement())
    return policy


def _enrol_event(actor: Principal, policy: Policy, detail: dict) -> OneRow:
    return audit.event(actor=actor, action="policy.enrol", entity="policy", entity_id=policy.id,
                       project_id=policy.project_id, detail=detail)


def _enrolling(db: Session, *, member_id: int, product_code: str, period_code: str,
               ) -> tuple[Quoted, ProductTerms, PeriodTerms, list[catalog_domain.Cell] | None,
                          Drawn | None]:
    """The member (what a quote reads), the product's and the period's terms, in one
    statement of plain columns. On PostgreSQL the same row brings the period's coefficient
    cells, the answer's catalogue, and the id and number of the policy it may write (drawn
    from their sequences: an enrolment then refused leaves a gap, as a failed INSERT does).
    Elsewhere cells and drawn are None. NotFound names what is missing, the member first."""
    with_cells = db.get_bind().dialect.name == "postgresql"
    row = db.connection().execute(_ENROLLING_WITH_CELLS if with_cells else _ENROLLING,
                                  {"member_id": member_id, "product": product_code,
                                   "period": period_code}).first()
    if row is None:  # no such product or period: read each alone, to say which
        member = db.connection().execute(_MEMBER, {"member_id": member_id}).first()
        _check_active(member, member_id)
        product, period = catalog_service.product_and_period(db, product_code=product_code,
                                                             period_code=period_code)
        return member, product, period, None, None
    _check_active(row, member_id)
    product, period = catalog_service.sale_terms(row)
    if not with_cells:
        return row, product, period, None, None
    views.remember_catalogue(db, period_id=period.id, project_code=row.project_code,
                             product_code=product.code, period_code=period.code,
                             benefits=row.benefits)
    return (row, product, period, catalog_service.cells_of_json(row.cells),
            Drawn(row.new_policy_id, _policy_number(row.new_policy_number)))


def _check_active(member, member_id: int) -> None:
    if member is None or member.status != "active":
        raise NotFound("member %(member_id)s not found or not active", member_id=member_id)


_MEMBER = select(Member.status, Member.birth_date, Member.occupation_class).where(
    Member.id == bindparam("member_id"))
# An enrolment's first read, built once. The member is joined by its key alone: a member
# not found leaves its columns empty, where a missing product or period gives no row.
_ENROLLING = (catalog_service.SALE_TERMS
              .add_columns(Member.status, Member.birth_date, Member.occupation_class)
              .outerjoin(Member, Member.id == bindparam("member_id")))
# On PostgreSQL the same row brings the period's coefficient cells and what the answer shows
# of the catalogue (policies.views.remember_catalogue), two statements fewer, and the new
# policy's id and number, so a paid enrolment writes in one statement more, not two.
_ENROLLING_WITH_CELLS = _ENROLLING.add_columns(
    catalog_service.CELLS_OF_PERIOD.label("cells"), views.PROJECT_CODE_OF_PRODUCT.label("project_code"),
    views.BENEFITS_OF_PRODUCT.label("benefits"), _DRAWN_ID.label("new_policy_id"),
    _DRAWN_NUMBER.label("new_policy_number"))


def already_holds(product_code: str, period_code: str) -> Worded:
    return Worded("member already holds a %(product)s policy for period %(period)s",
                  product=product_code, period=period_code)


def _record_premium(db: Session, *, policy: Policy, reference: str, on: date,
                    audited: OneRow, unwritten: dict | None = None) -> None:
    """The premium taken with the enrolment, its entry in the books and the enrolment's
    audit event (``audited``), sent together (ledger.service.post's ``alongside``): one
    statement on PostgreSQL, which also writes the policy when it is ``unwritten`` (its
    row's values)."""
    payment = OneRow(PremiumPayment.__table__, {
        "project_id": policy.project_id, "policy_id": policy.id, "amount": policy.premium,
        "paid_on": on, "kind": "premium", "reference": reference})
    rows = (payment, audited) if unwritten is None else (OneRow(_POLICIES, unwritten), payment,
                                                         audited)
    ledger_service.post(db, L.JournalEntry.of(
        project_id=policy.project_id, entry_date=on, kind="premium",
        memo=f"premium received for {policy.policy_number}", reference=policy.policy_number,
        postings=L.transfer(L.CASH, L.UNEARNED_PREMIUM, policy.premium)), alongside=rows)


def get(db: Session, *, policy_id: int, actor: Principal) -> Policy:
    """A policy; a member asking for another member's policy (not a dependant's they pay
    for) gets NotFound."""
    policy = db.get(Policy, policy_id)
    if policy is None or (actor.is_member
                          and not acts_for(db, actor=actor, member_id=policy.member_id)):
        raise NotFound("policy %(policy_id)s not found", policy_id=policy_id)
    return policy


def acts_for(db: Session, *, actor: Principal, member_id: int) -> bool:
    """A member acts for themself and for the dependants they pay for (members.dependants)."""
    return actor.member_id == member_id or dependants.pays_for(
        db, payer_id=actor.member_id, member_id=member_id)


def check_may_read_member(*, member_id: int, actor: Principal) -> None:
    """Staff read any member's policies; a member only their own (another's is not found)."""
    if actor.is_member and actor.member_id != member_id:
        raise NotFound("member %(member)s not found", member=member_id)


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
