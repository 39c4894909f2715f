"""Pricing proposals from experience (经验定价): a new coefficient table under the same premium.

Every member of a uniform-premium product pays the same premium (保费统一); what differs
by age band and occupation class is the sum insured, scaled by a coefficient (保额系数).
A fair table gives every cell the same expected claim cost per premium, so a cell's
coefficient should be inversely proportional to its expected cost per unit of sum insured.

For each cell *i* (age band x occupation class) and experience period *j* (a quarter):

- exposure ``e_ij``: policy-years in force;  claims ``L_ij``: claims incurred (yuan);
- volume ``w_ij = e_ij x c_i`` in base-sum-insured-years (``c_i`` the current coefficient),
  because claims scale with the sum insured each policy carried;
- observed rate ``X_ij = L_ij / w_ij``: claim cost per yuan-unit of base sum insured a year.

Buhlmann-Straub credibility blends each cell's own rate with the collective:
``r_i = Z_i X_i + (1 - Z_i) m`` (``mutua.actuarial.credibility.buhlmann_straub``).
The new coefficient is ``c'_i = k / r_i`` with ``k = sum_i E_i c_i r_i / sum_i E_i``
(``E_i`` the cell's total exposure): over the same mix of members the expected claim
cost, and so the expected claim cost per premium, is unchanged, and every cell now
costs the same, ``k``, per policy.

Worked example: two cells with equal exposure, current coefficients 1 and 1, expected
rates 0.001 and 0.003: k = (0.001 + 0.003)/2 = 0.002, so c' = 2.0 and 0.6667; expected
cost per policy is 0.002 in both, and the total is unchanged.

>>> cells = [CellExperience(18, 40, 1, Decimal("1"), (1.0,), (1.0,)),
...          CellExperience(18, 40, 2, Decimal("1"), (1.0,), (3.0,))]
>>> [str(c.proposed) for c in rebalance(cells, expected_rates=[0.001, 0.003],
...                                      credibility=[1.0, 1.0])]
['2.0000', '0.6667']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from mutua.actuarial.credibility import buhlmann_straub
from mutua.errors import ValidationFailed

FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class CellExperience:
    """One cell's experience: its place in the table, current coefficient, and per-period data."""

    age_min: int
    age_max: int
    occupation_class: int
    current: Decimal  # coefficient in force
    exposure: tuple[float, ...]  # policy-years per period
    claims: tuple[float, ...]  # claims incurred (yuan) per period


@dataclass(frozen=True)
class ProposedCell:
    age_min: int
    age_max: int
    occupation_class: int
    current: Decimal
    proposed: Decimal
    exposure: float  # policy-years over all periods
    claims: float  # claims incurred over all periods (yuan)
    observed_rate: float | None  # own experience, cost per unit base sum insured a year
    credibility: float  # Z_i, 0..1
    expected_rate: float  # credibility-weighted

    def as_dict(self) -> dict:
        return {
            "age_min": self.age_min, "age_max": self.age_max,
            "occupation_class": self.occupation_class,
            "current": str(self.current), "proposed": str(self.proposed),
            "exposure": round(self.exposure, 4), "claims": round(self.claims, 2),
            "observed_rate": None if self.observed_rate is None else round(self.observed_rate, 8),
            "credibility": round(self.credibility, 6),
            "expected_rate": round(self.expected_rate, 8),
        }


def experience_arrays(cells: Sequence[CellExperience]) -> tuple[np.ndarray, np.ndarray]:
    """Ratios ``X_ij`` and volumes ``w_ij`` (cells x periods) for the credibility model."""
    exposure = np.array([c.exposure for c in cells], dtype=float)
    claims = np.array([c.claims for c in cells], dtype=float)
    coeff = np.array([float(c.current) for c in cells], dtype=float)[:, None]
    weights = exposure * coeff
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(weights > 0, claims / np.where(weights > 0, weights, 1.0), 0.0)
    return ratios, weights


def credibility_rates(cells: Sequence[CellExperience],
                      model: Callable | None = None) -> tuple[list[float], list[float]]:
    """Expected rate and credibility per cell, by Buhlmann-Straub over cells with exposure.

    Cells with no exposure at all carry no information: they get the collective mean
    with credibility 0.
    """
    model = model or buhlmann_straub
    ratios, weights = experience_arrays(cells)
    seen = weights.sum(axis=1) > 0
    if seen.sum() < 2:
        raise ValidationFailed("experience", "needs at least two cells with exposure")
    fit = model(ratios[seen], weights[seen])
    mean = float(fit.collective_mean)
    rates = np.full(len(cells), mean)
    z = np.zeros(len(cells))
    rates[seen] = np.asarray(fit.premiums, dtype=float)
    z[seen] = np.asarray(fit.credibility, dtype=float)
    return rates.tolist(), z.tolist()


def rebalance(cells: Sequence[CellExperience], *, expected_rates: Sequence[float],
              credibility: Sequence[float]) -> list[ProposedCell]:
    """New coefficients inversely proportional to expected cost, total expected cost unchanged."""
    rates = np.asarray(expected_rates, dtype=float)
    total_e = np.array([sum(c.exposure) for c in cells], dtype=float)
    current = np.array([float(c.current) for c in cells], dtype=float)
    if total_e.sum() <= 0:
        raise ValidationFailed("experience", "has no exposure to price from")
    if not np.all(np.isfinite(rates)) or np.any(rates <= 0):
        raise ValidationFailed("experience", "needs claims: an expected cost of zero has no "
                                             "inverse")
    k = float((total_e * current * rates).sum() / total_e.sum())
    out = []
    for c, r, z, e in zip(cells, rates, credibility, total_e, strict=True):
        volume = float(sum(c.exposure)) * float(c.current)
        proposed = Decimal(repr(k / float(r))).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)
        out.append(ProposedCell(
            c.age_min, c.age_max, c.occupation_class, c.current, proposed, float(e),
            float(sum(c.claims)), (float(sum(c.claims)) / volume) if volume > 0 else None,
            float(z), float(r)))
    return out


def propose(cells: Sequence[CellExperience], model: Callable | None = None
            ) -> list[ProposedCell]:
    """The whole calculation: credibility-weighted rates, then the rebalanced table."""
    rates, z = credibility_rates(cells, model)
    return rebalance(cells, expected_rates=rates, credibility=z)
