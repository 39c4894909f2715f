"""Allocation of the distributable surplus (结余分配): uplift, claimant aid, services.

Pure and vectorised; all amounts are integer fen and every split is by largest remainder,
so the parts add up to the whole exactly.

- The policy's shares (e.g. 70% uplift 提升保额, 20% aid 救助出险会员, 10% services 增值服务)
  cut the distributable surplus into three pots.
- Aid goes to members with claims paid in the quarter in proportion to their uncovered
  loss and never above it; what cannot be given returns to the uplift pot.
- Uplift is shared among the policies in force on the first day of the next quarter in
  proportion to their earned premium in the closed quarter (the contribution principle,
  ASOP 15). With no such policy the uplift pot goes to the services fund.
- A policy's share is spread over its benefits so that every benefit's sum insured rises
  by the same proportion, and turned into sum insured: delta = money / (rate x t), with
  rate the benefit's pure risk rate per yuan per year and t the remaining term in years.

>>> a = allocate(10000, Shares(Decimal("0.7"), Decimal("0.2"), Decimal("0.1")),
...              np.array([3, 1]), np.array([500, 20000]))
>>> a.uplift, a.aid.tolist(), a.services, a.uplift_shares.tolist()
(7000, [49, 1951], 1000, [5250, 1750])
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from mutua.errors import ValidationFailed
from mutua.money import split_fen, split_fen_array

ONE = Decimal(1)
YEAR_DAYS = 365
RATE_SCALE = 10**8  # pure risk rates carry 8 decimals (Numeric(12, 8))
BENEFIT_WEIGHT_SCALE = 10**6


@dataclass(frozen=True)
class Shares:
    uplift: Decimal
    aid: Decimal
    services: Decimal

    def __post_init__(self) -> None:
        check_shares(self.uplift, self.aid, self.services)


def check_shares(uplift: Decimal, aid: Decimal, services: Decimal) -> None:
    for name, v in (("uplift", uplift), ("aid", aid), ("services", services)):
        if not isinstance(v, Decimal) or not v.is_finite() or v < 0 or v > 1:
            raise ValidationFailed(name, "share must be a decimal between 0 and 1")
    if uplift + aid + services != ONE:
        raise ValidationFailed("shares", f"must add up to 100%, got {(uplift + aid + services) * 100}%")


@dataclass(frozen=True)
class Allocation:
    uplift: int  # total spent on uplift (after aid leftovers and fallbacks)
    aid: np.ndarray  # per claimant, in the order given
    services: int
    uplift_shares: np.ndarray  # per eligible policy, in the order given
    aid_returned_to_uplift: int
    uplift_to_services: int

    @property
    def total(self) -> int:
        return self.uplift + int(self.aid.sum()) + self.services


def aid_for_claimants(pot: int, uncovered: np.ndarray) -> np.ndarray:
    """Share ``pot`` by uncovered loss, never above it (largest remainder keeps the cap:
    when pot < total loss each exact share is below the loss, so floor + 1 fen is not above)."""
    loss = np.asarray(uncovered, dtype=np.int64)
    total = int(loss.sum())
    if total <= pot:
        return loss.copy()
    return split_fen_array(pot, loss)


def allocate(distributable: int, shares: Shares, weights: np.ndarray,
             uncovered: np.ndarray) -> Allocation:
    """Cut ``distributable`` into uplift per policy, aid per claimant and services."""
    if distributable < 0:
        raise ValueError("distributable surplus cannot be negative")
    weights = np.asarray(weights, dtype=np.int64)
    uplift, aid_pot, services = split_fen(
        distributable, [shares.uplift, shares.aid, shares.services])
    aid = aid_for_claimants(aid_pot, uncovered)
    returned = aid_pot - int(aid.sum())
    uplift += returned
    to_services = 0
    if int(weights.sum()) == 0:
        to_services, services, uplift = uplift, services + uplift, 0
    per_policy = split_fen_array(uplift, weights)
    return Allocation(uplift, aid, services, per_policy, returned, to_services)


def benefit_weights(base_sum_insured_fen: list[int], rates: list[Decimal]) -> np.ndarray:
    """Integer weights (parts per million) giving each benefit the same relative uplift:
    a benefit's part of the money is its share of the expected claim cost."""
    cost = [Decimal(b) * r for b, r in zip(base_sum_insured_fen, rates, strict=True)]
    total = sum(cost, Decimal(0))
    if total <= 0:
        raise ValidationFailed("benefits", "a product needs a benefit with a pure risk rate to uplift")
    return np.array(split_fen(BENEFIT_WEIGHT_SCALE, cost), dtype=np.int64)


def split_over_benefits(shares: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """policies x benefits money (fen): each row adds up to the policy's share exactly."""
    s = np.asarray(shares, dtype=np.int64)[:, None]
    w = np.asarray(weights, dtype=np.int64)[None, :]
    total = int(w.sum())
    prod = s * w
    floors = prod // total
    rema = prod - floors * total
    short = s[:, 0] - floors.sum(axis=1)
    order = np.argsort(-rema, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(w.shape[1])[None, :].repeat(len(s), 0), axis=1)
    return floors + (rank < short[:, None])


def rate_units(rate: Decimal) -> int:
    units = rate * RATE_SCALE
    if units <= 0 or units != units.to_integral_value():
        raise ValidationFailed("pure_risk_rate", "must be positive with at most 8 decimals")
    return int(units)


def sum_insured_added(money: np.ndarray, rate: int, remaining_days: np.ndarray) -> np.ndarray:
    """delta = money / (rate x days / 365), in fen, rounded half up with integers only.

    ``rate`` is in units of 1e-8 per yuan per year (see :func:`rate_units`).
    """
    m = np.asarray(money, dtype=np.int64)
    d = np.asarray(remaining_days, dtype=np.int64)
    if (d <= 0).any():
        raise ValueError("remaining term must be at least one day")
    num_max = int(m.max(initial=0)) * YEAR_DAYS * RATE_SCALE * 2
    if num_max < 2**62:
        num = m * (YEAR_DAYS * RATE_SCALE)
        den = d * rate
        return (2 * num + den) // (2 * den)
    return np.array([(2 * int(x) * YEAR_DAYS * RATE_SCALE + int(y) * rate) // (2 * int(y) * rate)
                     for x, y in zip(m, d, strict=True)], dtype=np.int64)
