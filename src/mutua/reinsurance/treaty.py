"""Excess-of-loss treaty maths (pure; amounts in integer fen).

An excess-of-loss layer "limit xs retention" pays the part of a loss above the retention,
up to the limit (Klugman, Panjer and Willmot, *Loss Models*, 5th ed., section 8.2 and
chapter 18 on reinsurance layers; Swiss Re, *An introduction to reinsurance*, "Excess of
loss"): ``min(max(loss - retention, 0), limit)``. Per risk, the loss is one claim's; per
event (catastrophe), the sum of the event's claims net of the per-risk cover, which inures
to its benefit. Over its term a layer pays at most ``limit x (1 + reinstatements)``: each
reinstatement restores the limit once, for a premium pro rata to the amount reinstated
(the rate on line times the amount).

>>> t = Terms(retention=50_000_00, limit=250_000_00, reinstatements=1,
...           reinstatement_rate=Decimal("0.05"))
>>> layer(300_000_00, t), layer(40_000_00, t), layer(900_000_00, t)
(25000000, 0, 25000000)
>>> m = movement(loss=300_000_00, booked_for_loss=0, booked_on_treaty=0, terms=t)
>>> m.amount, m.reinstatement_premium
(25000000, 1250000)
>>> movement(loss=900_000_00, booked_for_loss=0, booked_on_treaty=400_000_00, terms=t).amount
10000000
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Terms:
    retention: int
    limit: int
    reinstatements: int = 0
    reinstatement_rate: Decimal = Decimal("0")

    @property
    def aggregate_limit(self) -> int:
        """The most the layer pays over its term: the limit and each reinstatement of it."""
        return self.limit * (1 + self.reinstatements)


@dataclass(frozen=True)
class Movement:
    amount: int  # change in what the reinsurer owes on this loss
    reinstatement_premium: int  # change in the premium owed for reinstating the limit


def layer(loss: int, terms: Terms) -> int:
    """What the layer pays on one loss: above the retention, up to the limit."""
    return min(max(loss - terms.retention, 0), terms.limit)


def reinstated(recovered: int, terms: Terms) -> int:
    """How much of the limit has been reinstated once ``recovered`` has been paid in all:
    every yuan paid is reinstated while reinstatements remain.

    >>> reinstated(300, Terms(retention=0, limit=200, reinstatements=1))
    200
    """
    return min(max(recovered, 0), terms.limit * terms.reinstatements)


def reinstatement_premium(recovered: int, terms: Terms) -> int:
    """Premium owed for reinstatements after ``recovered`` in all, pro rata as to amount,
    rounded half up to the fen once."""
    return int((Decimal(reinstated(recovered, terms)) * terms.reinstatement_rate)
               .to_integral_value(rounding=ROUND_HALF_UP))


def movement(*, loss: int, booked_for_loss: int, booked_on_treaty: int, terms: Terms) -> Movement:
    """The recovery to book now on one loss (a risk or an event).

    ``booked_for_loss`` is what was booked on this loss so far and ``booked_on_treaty`` on
    the whole treaty (this loss included); a rise is bounded by what the aggregate limit
    has left, a fall (a lower decision) returns what was booked above the new layer.
    """
    wanted = layer(max(loss, 0), terms) - booked_for_loss
    if wanted > 0:
        wanted = min(wanted, max(terms.aggregate_limit - booked_on_treaty, 0))
    after = booked_on_treaty + wanted
    premium = reinstatement_premium(after, terms) - reinstatement_premium(booked_on_treaty, terms)
    return Movement(wanted, premium)


def ceded_premium(*, earned: int, rate: Decimal, covered_days: int, quarter_days: int) -> int:
    """Premium ceded for a quarter: the rate on the pool's gross earned premium, for the
    days of the quarter the treaty covered.

    >>> ceded_premium(earned=1_000_000_00, rate=Decimal("0.03"), covered_days=46,
    ...               quarter_days=92)
    1500000
    """
    if quarter_days <= 0 or covered_days <= 0 or earned <= 0:
        return 0
    share = Decimal(earned) * rate * Decimal(min(covered_days, quarter_days)) / quarter_days
    return int(share.to_integral_value(rounding=ROUND_HALF_UP))
