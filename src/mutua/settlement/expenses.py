"""Necessary costs by category against the loading cap (pure; amounts in integer fen).

A quarter's actual costs are recorded by category (staff, systems, claims handling, member
services). The close charges them to the pool up to the cap, each product's earned premium
times its expense loading: the cap is a ceiling, never a charge of its own. When the costs
exceed it, each category is charged its share of the cap by largest remainder (so the
charged parts add up to the cap to the fen) and the excess is borne by the operator, not by
the members' pool; the statement shows actual, cap, charged and excess per category.

>>> c = charge(cap=1_000_00, actual={"staff": 700_00, "systems": 500_00})
>>> c.actual, c.charged, c.over_cap
(120000, 100000, 20000)
>>> [(line.category, line.actual, line.charged) for line in c.lines]
[('staff', 70000, 58333), ('systems', 50000, 41667)]
>>> charge(cap=1_000_00, actual={"staff": 300_00}).charged
30000
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from mutua.money import split_fen_array

STAFF, SYSTEMS, CLAIMS_HANDLING, MEMBER_SERVICES = (
    "staff", "systems", "claims_handling", "member_services")
CATEGORIES = (STAFF, SYSTEMS, CLAIMS_HANDLING, MEMBER_SERVICES)
# Rows recorded before costs had a category; never offered for new costs.
UNCLASSIFIED = "unclassified"
# With no costs recorded, the close charges the configured share of the cap under this name.
ASSUMED = "assumed"


@dataclass(frozen=True)
class CategoryCharge:
    category: str
    actual: int
    charged: int


@dataclass(frozen=True)
class ExpenseCharge:
    cap: int
    lines: tuple[CategoryCharge, ...]

    @property
    def actual(self) -> int:
        return sum(line.actual for line in self.lines)

    @property
    def charged(self) -> int:
        return sum(line.charged for line in self.lines)

    @property
    def over_cap(self) -> int:
        """Costs above the cap: borne by the operator, not charged to the pool."""
        return self.actual - self.charged


def charge(*, cap: int, actual: dict[str, int]) -> ExpenseCharge:
    """Charge each category's actual costs, scaled down to the cap when they exceed it.

    Categories come back in the order of :data:`CATEGORIES`, then any others by name.
    """
    if cap < 0 or any(v < 0 for v in actual.values()):
        raise ValueError("the cap and costs must not be negative")
    order = [c for c in CATEGORIES if c in actual] + sorted(set(actual) - set(CATEGORIES))
    amounts = np.array([actual[c] for c in order], dtype=np.int64)
    charged = amounts if int(amounts.sum()) <= cap else split_fen_array(cap, amounts)
    return ExpenseCharge(cap, tuple(CategoryCharge(c, int(a), int(x))
                                    for c, a, x in zip(order, amounts, charged, strict=True)))


def cap(earned_by_product: dict[int, int], loadings: dict[int, Decimal]) -> int:
    """The most the pool is charged: each product's earned premium times its expense
    loading, each to the fen (half to even, as the closes so far were computed); a product
    with no loading, or that earned less than nothing, adds nothing.

    >>> cap({1: 100_00, 2: 50_00, 3: -10_00}, {1: Decimal("0.15"), 2: Decimal("0.2")})
    2500
    >>> cap({1: 5}, {1: Decimal("0.5")}), cap({1: 7}, {1: Decimal("0.5")})
    (2, 4)
    """
    return sum(int((Decimal(max(e, 0)) * Decimal(loadings.get(p, 0))).to_integral_value())
               for p, e in earned_by_product.items())


def assumed(cap: int, share: Decimal) -> dict[str, int]:
    """With no costs recorded, the configured share of the cap is charged as assumed costs.

    >>> assumed(2500, Decimal("1")), assumed(2500, Decimal("0.5"))
    ({'assumed': 2500}, {'assumed': 1250})
    """
    return {ASSUMED: int((Decimal(cap) * Decimal(share)).to_integral_value())}
