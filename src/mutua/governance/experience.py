"""Pricing proposals generated from a product's own claims experience (经验费率议案).

Reads, set-based, the exposure (policy-years in force) and the claims incurred per
cell of the product's coefficient table and per calendar quarter, hands them to the
pure :mod:`mutua.governance.pricing`, and puts the resulting table to the vote beside
the current one, with each cell's exposure, claims and credibility weight.

Claims incurred = approved amount + open case reserve, by the quarter of the event.
Exposure = days of cover within each quarter / 365, from grouped policy rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.models import Product, SalePeriod
from mutua.claims.models import Claim
from mutua.dates import Quarter, quarters_between
from mutua.errors import NotFound, ValidationFailed
from mutua.governance import enactment
from mutua.governance import service as proposals
from mutua.governance.models import Proposal
from mutua.governance.pricing import CellExperience, propose
from mutua.ledger.service import fen_sum
from mutua.money import from_fen
from mutua.policies.models import Policy


def _ordinal(d: date) -> int:
    return d.toordinal()


def exposure_by_cell(db: Session, *, product_id: int, quarters: list[Quarter],
                     band_of) -> dict[tuple[int, int, int], np.ndarray]:
    """Policy-years per (band, class) per quarter, from policies grouped in SQL."""
    rows = db.execute(
        select(Policy.age_at_start, Policy.occupation_class, Policy.cover_start,
               Policy.cover_end, func.count())
        .where(Policy.product_id == product_id, Policy.cover_end >= quarters[0].start,
               Policy.cover_start <= quarters[-1].end)
        .group_by(Policy.age_at_start, Policy.occupation_class, Policy.cover_start,
                  Policy.cover_end)).all()
    out: dict = defaultdict(lambda: np.zeros(len(quarters)))
    if not rows:
        return out
    starts = np.array([_ordinal(r[2]) for r in rows])
    ends = np.array([_ordinal(r[3]) for r in rows])
    counts = np.array([r[4] for r in rows], dtype=float)
    q_start = np.array([_ordinal(q.start) for q in quarters])
    q_end = np.array([_ordinal(q.end) for q in quarters])
    # days in force inside each quarter: rows x quarters, vectorised
    days = (np.minimum(ends[:, None], q_end[None, :])
            - np.maximum(starts[:, None], q_start[None, :]) + 1).clip(min=0)
    years = days * counts[:, None] / 365.0
    for r, y in zip(rows, years, strict=True):
        band = band_of(r[0])
        if band is not None:
            out[(*band, r[1])] += y
    return out


def claims_by_cell(db: Session, *, product_id: int, quarters: list[Quarter],
                   band_of) -> dict[tuple[int, int, int], np.ndarray]:
    """Claims incurred (yuan) per (band, class) per quarter of the event."""

    rows = db.execute(
        select(Policy.age_at_start, Policy.occupation_class, Claim.event_date,
               fen_sum(Claim.approved), fen_sum(Claim.case_reserve))
        .join(Policy, Policy.id == Claim.policy_id)
        .where(Policy.product_id == product_id, Claim.event_date >= quarters[0].start,
               Claim.event_date <= quarters[-1].end)
        .group_by(Policy.age_at_start, Policy.occupation_class, Claim.event_date)).all()
    index = {q: i for i, q in enumerate(quarters)}
    out: dict = defaultdict(lambda: np.zeros(len(quarters)))
    for age, cls, day, approved_fen, reserve_fen in rows:
        band = band_of(age)
        if band is None:
            continue
        # raw SQL sums of Money columns are integer fen
        amount = from_fen(int(approved_fen or 0)) + from_fen(int(reserve_fen or 0))
        out[(*band, cls)][index[Quarter.of(day)]] += float(amount)
    return out


def experience(db: Session, *, product_id: int, start: date, end: date,
               before: date | None = None) -> list[CellExperience]:
    """Each cell of the current table with its exposure and claims per quarter."""
    quarters = quarters_between(start, end)
    if not quarters or end < start:
        raise ValidationFailed("experience_to", "must not be before experience_from")
    table_id = enactment.current_table_id(db, product_id=product_id, before=before)
    if table_id is None:
        raise NotFound("the product has no coefficient table")
    cells = catalog_service.table_cells(db, table_id=table_id)
    bands = sorted({(c.age_min, c.age_max) for c in cells})

    def band_of(age: int):
        for lo, hi in bands:
            if lo <= age <= hi:
                return (lo, hi)
        return None

    exposure = exposure_by_cell(db, product_id=product_id, quarters=quarters, band_of=band_of)
    claims = claims_by_cell(db, product_id=product_id, quarters=quarters, band_of=band_of)
    zero = np.zeros(len(quarters))
    return [CellExperience(c.age_min, c.age_max, c.occupation_class, c.coefficient,
                           tuple(exposure.get(k, zero).tolist()),
                           tuple(claims.get(k, zero).tolist()))
            for c in cells for k in [(c.age_min, c.age_max, c.occupation_class)]]


def generate_pricing_proposal(
    db: Session,
    *,
    product_id: int,
    experience_from: date,
    experience_to: date,
    opens_at: datetime,
    closes_at: datetime,
    actor: Principal,
    period_id: int | None = None,
    quorum: str = "0.1",
    today: date | None = None,
    model=None,
) -> Proposal:
    """A draft pricing proposal for the product's next unsold period, with its evidence."""

    product = db.get(Product, product_id)
    if product is None:
        raise NotFound("product %(product_id)s not found", product_id=product_id)
    today = today or proposals._shanghai_date(opens_at)
    period = (db.get(SalePeriod, period_id) if period_id else
              catalog_service.next_unsold_period(db, product_id=product_id, on=today))
    if period is None:
        raise ValidationFailed("period_id", "the product has no period that is not yet on sale")
    cells = experience(db, product_id=product_id, start=experience_from, end=experience_to,
                       before=period.sale_start)
    proposed = propose(cells, model=model)
    comparison = [p.as_dict() for p in proposed]
    payload = {
        "product_id": product_id, "period_id": period.id,
        "cells": [{"age_min": p.age_min, "age_max": p.age_max,
                   "occupation_class": p.occupation_class, "coefficient": str(p.proposed)}
                  for p in proposed],
        "comparison": comparison,
        "experience": {"from": experience_from.isoformat(), "to": experience_to.isoformat(),
                       "method": "buhlmann_straub"},
    }
    title_zh = f"{product.name_zh} 第{period.code}期保额系数调整(经验费率)"
    title_en = f"{product.name_en}: coefficient table for period {period.code} from experience"
    body_en = ("Same uniform premium; coefficients rebalanced so every age band and occupation "
               "class carries the same expected claim cost, weighted by Buhlmann-Straub "
               f"credibility over claims from {experience_from} to {experience_to}.")
    body_zh = ("保费不变;按各年龄段与职业类别的理赔经验(Buhlmann-Straub 信度加权)调整保额系数,"
               "使每档会员的期望赔付相同。")
    return proposals.create_proposal(
        db, kind="pricing", project_id=product.project_id, title_zh=title_zh[:200],
        title_en=title_en[:300], body_zh=body_zh, body_en=body_en, quorum=quorum,
        opens_at=opens_at, closes_at=closes_at, payload=payload, actor=actor, today=today)
