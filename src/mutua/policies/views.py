"""Policies as members and staff read them: the read model behind the policy routes.

A member's policy list is the platform's busiest read, so this module reads it in three
Core statements built once at import (the policies with their codes, their products'
benefits, their uplift history) through the session's connection, and never loads ORM
entities: building statements and entities per request was about a third of the list's
cost. The figures it shows are the ones ``service.covers_of`` computes for claims (the sum
insured on a day includes the uplifts in effect by then); a test holds the two equal.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from types import SimpleNamespace

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from mutua.catalog.models import Benefit, Product, Project, SalePeriod
from mutua.dates import today
from mutua.db import page_total, transaction_memo
from mutua.money import from_fen, round_fen
from mutua.policies.domain import sums_insured, uplift_in_effect
from mutua.policies.models import Policy, SumInsuredUplift
from mutua.policies.schemas import BenefitCoverOut, PolicyOut, UpliftOut

_policy, _period = Policy.__table__, SalePeriod.__table__
_product, _project = Product.__table__, Project.__table__
_benefit, _uplift = Benefit.__table__, SumInsuredUplift.__table__

_WITH_CODES = (
    select(_policy.c.id, _policy.c.policy_number, _policy.c.product_id, _policy.c.member_id,
           _policy.c.status, _policy.c.enrolled_on, _policy.c.cover_start, _policy.c.cover_end,
           _policy.c.premium, _policy.c.refund, _policy.c.occupation_class,
           _policy.c.age_at_start, _policy.c.coefficient,
           _project.c.code.label("project_code"), _product.c.code.label("product_code"),
           _period.c.code.label("period_code"))
    .join_from(_policy, _period, _period.c.id == _policy.c.period_id)
    .join(_product, _product.c.id == _policy.c.product_id)
    .join(_project, _project.c.id == _policy.c.project_id))

MEMBER_PAGE = (_WITH_CODES.where(_policy.c.member_id == bindparam("member_id"))
               .order_by(_policy.c.cover_start.desc(), _policy.c.id)
               .limit(bindparam("limit")).offset(bindparam("offset")))
MEMBER_COUNT = (select(func.count()).select_from(_policy)
                .where(_policy.c.member_id == bindparam("member_id")))
BY_ID = _WITH_CODES.where(_policy.c.id.in_(bindparam("ids", expanding=True)))
BENEFITS = (select(_benefit.c.product_id, _benefit.c.id, _benefit.c.code, _benefit.c.kind,
                   _benefit.c.base_sum_insured)
            .where(_benefit.c.product_id.in_(bindparam("ids", expanding=True)))
            .order_by(_benefit.c.product_id, _benefit.c.id))
UPLIFTS = (select(_uplift.c.policy_id, _uplift.c.benefit_id, _benefit.c.code, _uplift.c.quarter,
                  _uplift.c.effective_from, _uplift.c.money, _uplift.c.sum_insured_added)
           .join_from(_uplift, _benefit, _benefit.c.id == _uplift.c.benefit_id)
           .where(_uplift.c.policy_id.in_(bindparam("ids", expanding=True)))
           .order_by(_uplift.c.effective_from, _benefit.c.id))


# A policy just enrolled: its codes and its product's benefits in one statement (it has no
# uplifts yet, and the rest of it is in the session).
CODES_AND_BENEFITS = (
    select(_project.c.code.label("project_code"), _product.c.code.label("product_code"),
           _period.c.code.label("period_code"), _benefit.c.id, _benefit.c.code,
           _benefit.c.kind, _benefit.c.base_sum_insured)
    .join_from(_period, _product, _product.c.id == _period.c.product_id)
    .join(_project, _project.c.id == _product.c.project_id)
    .outerjoin(_benefit, _benefit.c.product_id == _product.c.id)
    .where(_period.c.id == bindparam("period_id"))
    .order_by(_benefit.c.id))


def member_page(db: Session, *, member_id: int, limit: int, offset: int,
                ) -> tuple[list[PolicyOut], int]:
    """A page of a member's policies, latest cover first, and how many they hold in all.

    The caller has checked that the reader may see this member's policies.
    """
    rows = db.connection().execute(MEMBER_PAGE, {"member_id": member_id, "limit": limit,
                                                  "offset": offset}).all()
    total = page_total(db, rows, limit=limit, offset=offset, count=MEMBER_COUNT,
                       params={"member_id": member_id})
    return _views(db, rows), total


def by_ids(db: Session, policy_ids: list[int]) -> list[PolicyOut]:
    """The policies with these ids, in the order given (ids not found are left out)."""
    rows = db.connection().execute(BY_ID, {"ids": policy_ids}).all()
    order = {pid: i for i, pid in enumerate(policy_ids)}
    return _views(db, sorted(rows, key=lambda r: order[r.id]))


def enrolled(db: Session, policy: Policy) -> PolicyOut:
    """A policy this unit of work has just enrolled (flushed), as :func:`by_ids` would read
    it, in one statement instead of three, or none when the enrolment's first read brought
    its codes and benefits in this transaction (:func:`remember_catalogue`): enrolment is the
    busiest write."""
    known = transaction_memo(db, _KNOWN_CATALOGUE).get(policy.period_id)
    if known is None:
        rows = db.connection().execute(CODES_AND_BENEFITS,
                                       {"period_id": policy.period_id}).all()
        known = rows[0], [b for b in rows if b.id is not None]
    codes, benefits = known
    row = SimpleNamespace(**{c: getattr(policy, c) for c in _POLICY_FIELDS},
                          refund=round_fen(policy.refund),  # as the Money column reads it
                          project_code=codes.project_code, product_code=codes.product_code,
                          period_code=codes.period_code)
    return _view(row, benefits, [], max(policy.cover_start, today()))


# What an enrolment's first read adds on PostgreSQL (policies.service._enrolling), so that its
# answer needs no read of its own: the project's code, and the product's benefits as one
# JSON array (sums insured in fen). Both refer to the products row of the enclosing read.
PROJECT_CODE_OF_PRODUCT = (select(_project.c.code)
                           .where(_project.c.id == _product.c.project_id).scalar_subquery())
BENEFITS_OF_PRODUCT = (
    select(func.json_agg(aggregate_order_by(func.json_build_array(
        _benefit.c.id, _benefit.c.code, _benefit.c.kind, _benefit.c.base_sum_insured),
        _benefit.c.id)))
    .where(_benefit.c.product_id == _product.c.id).scalar_subquery())
_KNOWN_CATALOGUE = "policies.views.catalogue"  # transaction_memo: by period id


def remember_catalogue(db: Session, *, period_id: int, project_code: str, product_code: str,
                       period_code: str, benefits: list | None) -> None:
    """Keep, for this transaction only, what an enrolment's answer shows of its period's
    catalogue (``benefits`` as :data:`BENEFITS_OF_PRODUCT` reads them)."""
    codes = SimpleNamespace(project_code=project_code, product_code=product_code,
                            period_code=period_code)
    read = [SimpleNamespace(id=i, code=c, kind=k, base_sum_insured=from_fen(fen))
            for i, c, k, fen in benefits or ()]
    transaction_memo(db, _KNOWN_CATALOGUE)[period_id] = (codes, read)


_POLICY_FIELDS = ("id", "policy_number", "product_id", "member_id", "status", "enrolled_on",
                  "cover_start", "cover_end", "premium", "occupation_class",
                  "age_at_start", "coefficient")


def _views(db: Session, rows: list[Row]) -> list[PolicyOut]:
    if not rows:
        return []
    conn = db.connection()
    benefits = defaultdict(list)
    for b in conn.execute(BENEFITS, {"ids": list({r.product_id for r in rows})}):
        benefits[b.product_id].append(b)
    history = defaultdict(list)
    for u in conn.execute(UPLIFTS, {"ids": [r.id for r in rows]}):
        history[u.policy_id].append(u)
    on = today()
    return [_view(r, benefits[r.product_id], history[r.id], max(r.cover_start, on))
            for r in rows]


def _view(r: Row, benefits: list[Row], history: list[Row], on: date) -> PolicyOut:
    """One policy with each benefit's sum insured on ``on`` and its whole uplift history."""
    added = uplift_in_effect(((u.benefit_id, u.effective_from, u.sum_insured_added)
                              for u in history), on)
    covers = []
    for b in benefits:
        base, total = sums_insured(b.base_sum_insured, r.coefficient, added[b.id])
        covers.append(BenefitCoverOut(code=b.code, kind=b.kind, base_sum_insured=base,
                                      uplift=added[b.id], sum_insured=total))
    return PolicyOut(
        id=r.id, policy_number=r.policy_number, project_code=r.project_code,
        product_code=r.product_code, period_code=r.period_code, member_id=r.member_id,
        status=r.status, enrolled_on=r.enrolled_on, cover_start=r.cover_start,
        cover_end=r.cover_end, premium=r.premium, refund=r.refund,
        occupation_class=r.occupation_class, age_at_start=r.age_at_start,
        coefficient=r.coefficient, benefits=covers,
        uplifts=[UpliftOut(benefit_code=u.code, quarter=u.quarter,
                           effective_from=u.effective_from, money=u.money,
                           sum_insured_added=u.sum_insured_added) for u in history])
