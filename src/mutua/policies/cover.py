"""The cover a policy gives on a date (its benefits' sums insured with the uplifts earned by
then), read for one policy or many at once, and the sum-insured uplifts a quarter's close grants.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from datetime import date
from decimal import Decimal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from mutua.catalog.models import Benefit, Product, Project, SalePeriod
from mutua.db import batched
from mutua.errors import NotFound, ValidationFailed
from mutua.policies import domain
from mutua.policies.models import Policy, SumInsuredUplift

CHUNK = 5000  # ids in one statement


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
        raise NotFound("policy %(policy_id)s not found", policy_id=policy_id)
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
    for chunk in batched(ids, CHUNK):
        policies.update((p.id, p) for p in db.scalars(select(Policy).where(Policy.id.in_(chunk))))
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
