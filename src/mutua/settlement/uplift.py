"""Which policies a close's uplift raises, and their benefits' current cover, as columns.

The close reads the policies in force on the first day of the next quarter and the uplifts
they hold so far (two reads through the driver, no ORM rows), keeps those with at least
their product's ``min_uplift_days`` of cover left, and lays out one row per (policy,
raised benefit) for :func:`mutua.settlement.allocation.allocate`:

- a benefit is raised when it has a sum insured of its own: not one that shares another's
  (disability pays out of death's sum insured), not a daily amount (a hospital allowance);
  the rates of the benefits that share its sum insured are added to its own, because a
  rise of death's sum insured raises what disability pays too;
- its current sum insured is the base scaled by the policy's coefficient (to the fen, half
  up, as ``policies.domain.sums_insured``) plus every uplift in effect on that day;
- its rate is the benefit's pure risk rate at coefficient 1; ``allocation`` divides it by
  the policy's coefficient (``catalog.domain.risk_rate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.catalog.models import Benefit, Product
from mutua.money import to_fen
from mutua.settlement import allocation, figures

COEFFICIENT_HALF = allocation.COEFFICIENT_SCALE


@dataclass(frozen=True)
class ProductTerms:
    """A product's uplift settings and the benefits its uplift raises."""

    product_id: int
    code: str
    min_days: int
    cap_units: int  # max_uplift_rate in 1e-8
    benefit_ids: np.ndarray
    benefit_codes: tuple[str, ...]
    base_fen: np.ndarray
    rate_units: np.ndarray  # own rate plus the rates of the benefits sharing its sum insured


@dataclass(frozen=True)
class Candidates:
    """The policies in force on the uplift day, which of them are eligible, and the basis."""

    day: date
    in_force: figures.InForce
    eligible: np.ndarray  # per policy in force
    too_few_days: int  # in force, but fewer than min_uplift_days left
    basis: allocation.UpliftBasis
    row_policy_id: np.ndarray
    row_benefit_id: np.ndarray
    row_benefit_code: np.ndarray  # index into ``codes``
    codes: tuple[str, ...]
    products: dict[int, ProductTerms]

    @classmethod
    def none(cls, day: date) -> Candidates:
        z = np.zeros(0, dtype=np.int64)
        return cls(day, figures.InForce(z, z, z, z, z), np.zeros(0, bool), 0,
                   allocation.UpliftBasis.empty(), z, z, z, (), {})


def product_terms(db: Session, *, project_id: int) -> dict[int, ProductTerms]:
    """Each product of the project with its uplift settings and raised benefits."""
    out = {}
    for p in db.scalars(select(Product).where(Product.project_id == project_id)
                        .order_by(Product.id)):
        benefits = db.execute(select(Benefit.id, Benefit.code, Benefit.base_sum_insured,
                                     Benefit.pure_risk_rate, Benefit.shares_sum_insured_with,
                                     Benefit.daily_amount)
                              .where(Benefit.product_id == p.id).order_by(Benefit.id)).all()
        followers: dict[str, int] = {}
        for b in benefits:
            if b.shares_sum_insured_with:
                followers[b.shares_sum_insured_with] = (
                    followers.get(b.shares_sum_insured_with, 0)
                    + allocation.rate_units(b.pure_risk_rate))
        raised = [b for b in benefits if allocation.raises(
            shares_sum_insured_with=b.shares_sum_insured_with, daily_amount=b.daily_amount,
            pure_risk_rate=b.pure_risk_rate)]
        out[p.id] = ProductTerms(
            p.id, p.code, int(p.min_uplift_days),
            int(allocation.rate_units(p.max_uplift_rate)),
            np.array([b.id for b in raised], dtype=np.int64), tuple(b.code for b in raised),
            np.array([to_fen(b.base_sum_insured) for b in raised], dtype=np.int64),
            np.array([allocation.rate_units(b.pure_risk_rate) + followers.get(b.code, 0)
                      for b in raised], dtype=np.int64))
    return out


def candidates(db: Session, *, project_id: int, day: date) -> Candidates:
    """Everything the uplift of a close taking effect on ``day`` needs to know."""
    products = product_terms(db, project_id=project_id)
    in_force = figures.in_force_on(db, project_id=project_id, day=day)
    of_product = {pid: in_force.product_id == pid for pid in products}
    min_days = np.zeros(len(in_force.product_id), dtype=np.int64)
    for pid, mask in of_product.items():
        min_days[mask] = products[pid].min_days
    eligible = allocation.eligible(in_force.remaining_days, min_days)
    too_few = int((~eligible).sum())
    if not eligible.any():
        return Candidates(day, in_force, eligible, too_few, allocation.UpliftBasis.empty(),
                          *(np.zeros(0, np.int64),) * 3, (), products)
    so_far = figures.uplifted_so_far(db, project_id=project_id, day=day)
    codes = tuple(sorted({c for t in products.values() for c in t.benefit_codes}))
    parts = [_rows(products[pid], in_force, eligible & mask, so_far, codes)
             for pid, mask in of_product.items() if len(products[pid].benefit_ids)]
    parts = [part for part in parts if len(part[0])]
    cols = [np.concatenate([part[i] for part in parts]) for i in range(9)]
    if len(parts) > 1:  # policy-major, so the rows are written in index order
        order = np.argsort(cols[0], kind="stable")
        cols = [c[order] for c in cols]
    row_policy, index, benefit, code, si, rate, coef, days, cap = cols
    basis = allocation.UpliftBasis(index, si, rate, coef, days, cap)
    return Candidates(day, in_force, eligible, too_few, basis, row_policy, benefit, code,
                      codes, products)


def _rows(terms: ProductTerms, in_force: figures.InForce, mask: np.ndarray,
          so_far: np.ndarray, codes: tuple[str, ...]) -> list[np.ndarray]:
    """One product's rows: each eligible policy's raised benefits side by side."""
    k = len(terms.benefit_ids)
    where = np.flatnonzero(mask)
    n = len(where)
    policy = np.repeat(in_force.policy_id[where], k)
    coef = np.repeat(in_force.coefficient_units[where], k)
    base = np.tile(terms.base_fen, n)
    # base x coefficient to the fen, half up: (2 x base x c + 10^4) // (2 x 10^4)
    si = (2 * base * coef + COEFFICIENT_HALF) // (2 * COEFFICIENT_HALF)
    benefit = np.tile(terms.benefit_ids, n)
    si += _added_so_far(so_far, policy, benefit)
    code_index = np.array([codes.index(c) for c in terms.benefit_codes], dtype=np.int64)
    return [policy, np.repeat(where, k), benefit, np.tile(code_index, n), si,
            np.tile(terms.rate_units, n), coef, np.repeat(in_force.remaining_days[where], k),
            np.full(n * k, terms.cap_units, dtype=np.int64)]


def _added_so_far(so_far: np.ndarray, policy: np.ndarray, benefit: np.ndarray) -> np.ndarray:
    """Sum insured each (policy, benefit) row already gained from earlier closes."""
    out = np.zeros(len(policy), dtype=np.int64)
    if len(so_far) == 0 or len(policy) == 0:
        return out
    width = int(max(so_far[:, 1].max(), benefit.max())) + 1
    keys = so_far[:, 0] * width + so_far[:, 1]  # sorted: uplifted_so_far orders by both
    wanted = policy * width + benefit
    at = np.searchsorted(keys, wanted)
    found = at < len(keys)
    found[found] = keys[at[found]] == wanted[found]
    out[found] = so_far[at[found], 2]
    return out
