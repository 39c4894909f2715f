"""Allocation of the distributable surplus (结余分配): uplift, claimant aid, services.

Pure and vectorised; all amounts are integer fen and every split is by largest remainder,
so the parts add up to the whole exactly.

- The policy's shares (e.g. 70% uplift 提升保额, 20% aid 救助出险会员, 10% services 增值服务)
  cut the distributable surplus into three pots. Uplift money carried from the last close
  goes to the uplift pot before the cut.
- Aid goes to members with claims paid in the quarter in proportion to their uncovered
  loss and never above it; what cannot be given returns to the uplift pot.
- The uplift pot U buys one proportional rise u of the sum insured for every eligible
  policy: in force on the first day of the next quarter with at least its product's
  ``min_uplift_days`` of cover left. Raising policy i's benefit b by u costs
  u x SI_ib x r_ib x t_i (current sum insured, the policy's own pure risk rate, remaining
  years), so u = U / sum(SI x r x t), capped by the product's ``max_uplift_rate``
  (DOMAIN.md section 3). A policy near its end costs little to raise and gets the same
  rise as any other, never more.
- Each row's sum insured added is u x SI rounded down to the fen; the cost of the rises,
  rounded down to the fen, is split over the rows by largest remainder. What the cap and
  the rounding leave is carried to the next close.
  Carried money spent first; what is still unspent after a second close goes to aid and
  services by the policy's shares. With no eligible policy the pot goes to services.

Conservation, to the fen: uplift money + carried + aid + services = distributable.

Two policies with 100,000 yuan of death cover at 0.0006 a year (raising both by 100% would
cost 60.00 and 1.64 yuan: one has a year left, the other ten days); 10.00 yuan to share, of
which 1.00 goes to a claimant's uncovered loss and 1.00 to services, the rest, 8.00, to uplift.
Both rise by the same 12.98%; the one near its end costs 0.21 yuan of it:

>>> basis = UpliftBasis(policy=np.array([0, 1]), sum_insured=np.array([10_000_000, 10_000_000]),
...     rate_units=np.array([60_000, 60_000]), coefficient_units=np.array([10_000, 10_000]),
...     days=np.array([365, 10]), cap_units=np.array([50_000_000, 50_000_000]))
>>> a = allocate(10_00, Shares(Decimal("0.7"), Decimal("0.2"), Decimal("0.1")),
...              np.array([100]), basis)
>>> str(a.rate), a.raised.sum_insured_added.tolist(), a.raised.money.tolist()
('0.12977777', [1297777, 1297777], [778, 21])
>>> a.uplift, a.carried, a.aid.tolist(), a.services, a.total
(799, 1, [100], 100, 1000)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal

import numpy as np

from mutua.errors import ValidationFailed
from mutua.money import split_fen, split_fen_array

ONE = Decimal(1)
YEAR_DAYS = 365
RATE_SCALE = 10**8  # pure risk rates and uplift rates carry 8 decimals (Numeric(12, 8))
COEFFICIENT_SCALE = 10**4  # coefficients carry 4 decimals (Numeric(8, 4))
RATE_PLACES = Decimal(1).scaleb(-8)
MIN_UPLIFT_DAYS = 30
MAX_UPLIFT_RATE = Decimal("0.5")
# The quarter the default allocation policy applies from: before any real quarter.
FIRST_QUARTER = "0000Q1"

# Why a policy that had cover in the closed quarter got no uplift (codes the pages translate).
ENDED = "ended"  # cover ended before the first day of the next quarter
CANCELLED = "cancelled"  # cancelled before the first day of the next quarter
TOO_FEW_DAYS = "too_few_days"  # in force, but fewer than min_uplift_days left
NO_UPLIFT = "no_uplift"  # eligible, but the close raised no cover (no surplus to share)
NOTHING_TO_RAISE = "nothing_to_raise"  # its benefits pay daily amounts, which do not rise


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
        raise ValidationFailed("shares", "must add up to 100%%, got %(total)s%%",
                               total=(uplift + aid + services) * 100)


# ---------------------------------------------------------------- who is raised, and why not

def why_not_uplifted(*, cover_start: date, cover_end: date, cancelled: bool, uplift_day: date,
                     min_days: int) -> str | None:
    """Why a policy gets no uplift from a close whose uplift takes effect on ``uplift_day``
    (the first day of the next quarter), or None when it is eligible.

    >>> d = date(2026, 10, 1)
    >>> why_not_uplifted(cover_start=date(2026, 1, 1), cover_end=date(2026, 12, 31),
    ...                  cancelled=False, uplift_day=d, min_days=30) is None
    True
    >>> why_not_uplifted(cover_start=date(2025, 10, 11), cover_end=date(2026, 10, 10),
    ...                  cancelled=False, uplift_day=d, min_days=30)  # 10 days left
    'too_few_days'
    >>> why_not_uplifted(cover_start=date(2025, 9, 1), cover_end=date(2026, 8, 31),
    ...                  cancelled=False, uplift_day=d, min_days=30)
    'ended'
    """
    if cover_end < uplift_day or cover_start > uplift_day:
        return CANCELLED if cancelled and cover_end < uplift_day else ENDED
    if (cover_end - uplift_day).days + 1 < min_days:
        return TOO_FEW_DAYS
    return None


def raises(*, shares_sum_insured_with: str | None, daily_amount: Decimal | None,
           pure_risk_rate: Decimal) -> bool:
    """Whether an uplift raises a benefit: one with a sum insured of its own (disability
    paying out of death's rises with death's) that is not a daily amount."""
    return not shares_sum_insured_with and daily_amount is None and pure_risk_rate > 0


def eligible(remaining_days: np.ndarray, min_days: np.ndarray) -> np.ndarray:
    """:func:`why_not_uplifted` over columns of policies already in force on the uplift day:
    True where at least ``min_days`` of cover are left (the uplift day counts)."""
    return np.asarray(remaining_days) >= np.asarray(min_days)


# ---------------------------------------------------------------- the uplift rate

def rate_units(rate: Decimal) -> int:
    """A rate with at most 8 decimals as an integer of 1e-8 (0.00006 -> 6000)."""
    units = Decimal(rate) * RATE_SCALE
    if units <= 0 or units != units.to_integral_value():
        raise ValidationFailed("pure_risk_rate", "must be positive with at most 8 decimals")
    return int(units)


@dataclass(frozen=True)
class UpliftBasis:
    """The benefits an uplift raises, one row per (eligible policy, raised benefit).

    ``policy`` numbers the policy (rows of one policy share it); ``sum_insured`` is the
    benefit's current sum insured in fen (coefficient-scaled, earlier uplifts included);
    ``rate_units`` its pure risk rate at coefficient 1 in 1e-8 per yuan a year, with the
    rates of benefits that share its sum insured added; ``coefficient_units`` the policy's
    coefficient in 1e-4 (its own rate is the benefit's divided by it, catalog.domain.
    risk_rate); ``days`` the days of cover left from the uplift day; ``cap_units`` the
    product's max_uplift_rate in 1e-8.
    """

    policy: np.ndarray
    sum_insured: np.ndarray
    rate_units: np.ndarray
    coefficient_units: np.ndarray
    days: np.ndarray
    cap_units: np.ndarray

    @classmethod
    def empty(cls) -> UpliftBasis:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, z, z, z)

    def __len__(self) -> int:
        return len(self.policy)

    def buy(self, pot: int) -> Uplift:
        return buy_uplift(pot, self)

    def exposure(self) -> np.ndarray:
        """SI x r x t per row in fen: what a rise of 100% would cost (a weight, float)."""
        return (self.sum_insured.astype(np.float64) * self.rate_units * self.days
                / (self.coefficient_units.astype(np.float64) * YEAR_DAYS * RATE_SCALE
                   / COEFFICIENT_SCALE))


@dataclass(frozen=True)
class Uplift:
    rate: Decimal  # the declared rate u (8 decimals, rounded down)
    capped: bool  # the cap, not the money, set the rate
    sum_insured_added: np.ndarray  # per basis row, fen
    money: np.ndarray  # per basis row, fen: the premium paid for that cover

    @property
    def spent(self) -> int:
        return int(self.money.sum())


def uplift_rate(pot: int, basis: UpliftBasis) -> tuple[Decimal, bool]:
    """u = pot / sum(SI x r x t), rounded down to 8 decimals, capped at the largest cap.

    >>> b = UpliftBasis(np.array([0]), np.array([10_000_000]), np.array([100_000]),
    ...                 np.array([10_000]), np.array([365]), np.array([50_000_000]))
    >>> uplift_rate(231, b)  # 2.31 yuan buys 2.31% of 100,000 yuan at 0.001 a year
    (Decimal('0.02310000'), False)
    >>> uplift_rate(10**6, b)
    (Decimal('0.50000000'), True)
    """
    if not len(basis):
        return rate_for(pot, 0.0, 0)
    return rate_for(pot, float(basis.exposure().sum()), int(basis.cap_units.max()))


def rate_for(pot: int, exposure: float, cap_units: int) -> tuple[Decimal, bool]:
    """:func:`uplift_rate` from the total exposure sum(SI x r x t) and the largest cap, which
    a close sums over its policies chunk by chunk.

    >>> rate_for(231, 10_000.0, 50_000_000)
    (Decimal('0.02310000'), False)
    """
    if pot <= 0 or exposure <= 0:
        return Decimal(0).quantize(RATE_PLACES), False
    raw = (Decimal(pot) / Decimal(repr(exposure))).quantize(RATE_PLACES, rounding=ROUND_DOWN)
    cap = Decimal(cap_units) / RATE_SCALE
    return (cap.quantize(RATE_PLACES), True) if raw >= cap else (raw, False)


def raise_cover(rate: Decimal, basis: UpliftBasis) -> tuple[np.ndarray, np.ndarray]:
    """(sum insured added, money) per row for rate ``rate``, in integers only.

    The rise is SI x min(rate, cap) rounded down to the fen, so no policy gains more than
    the rate. Its cost SI_added x r / coefficient x days / 365 is split to the fen by
    largest remainder: the rows' money adds up to the exact total cost rounded down.
    """
    added, money, fraction = cover_parts(rate, basis)
    short = int(fraction.sum())  # float: may fall a fen short of the exact sum, never over it
    if short:
        money[np.argsort(-fraction, kind="stable")[:short]] += 1
    return added, money


def cover_parts(rate: Decimal, basis: UpliftBasis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sum insured added, money rounded down, the fen's fraction left) per row: the
    pieces :func:`raise_cover` splits by largest remainder, row by row, so a close can
    compute them chunk by chunk and pick the largest fractions over all its chunks."""
    units = np.minimum(int((rate * RATE_SCALE).to_integral_value()), basis.cap_units)
    added = _exact(_product(basis.sum_insured, units) // RATE_SCALE)
    numerator = _product(added, basis.rate_units * basis.days)
    denominator = basis.coefficient_units * (YEAR_DAYS * RATE_SCALE // COEFFICIENT_SCALE)
    money = numerator // denominator
    fraction = ((numerator - money * denominator) / denominator).astype(np.float64)
    return added, _exact(money), fraction


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b per element: int64 when it cannot overflow, Python integers if it might."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if int(np.abs(a).max(initial=0)) * int(np.abs(b).max(initial=0)) < 2**62:
        return a * b
    return a.astype(object) * b.astype(object)


def _exact(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype(np.int64)


def buy_uplift(pot: int, basis: UpliftBasis) -> Uplift:
    """Spend at most ``pot`` on one rate for every row (see the module docstring)."""
    rate, capped = uplift_rate(pot, basis)
    while True:
        added, money = raise_cover(rate, basis)
        if int(money.sum()) <= pot:  # float error in the total may leave u a unit high
            return Uplift(rate, capped, added, money)
        rate -= RATE_PLACES


# ---------------------------------------------------------------- the whole allocation

@dataclass(frozen=True)
class Allocation:
    uplift: int  # money spent on uplift: the sum of the rows' money
    aid: np.ndarray  # per claimant, in the order given
    services: int
    uplift_pot: int  # what the uplift could spend: its share, aid left over, carried money
    carried_in: int  # carried from the last close and part of this distributable
    carried: int  # left by the cap and rounding, carried to the next close
    aid_returned_to_uplift: int
    uplift_to_services: int  # no eligible policy: the pot went to services
    carried_overflow: int  # carried money unspent in a second close: to aid and services
    # What the basis bought: an Uplift (its rows' columns) from an UpliftBasis, the close's
    # summary from its chunked rows (settlement.uplift.Raised); both tell rate and spent.
    raised: Uplift = field(default_factory=lambda: Uplift(
        Decimal(0).quantize(RATE_PLACES), False, np.zeros(0, np.int64), np.zeros(0, np.int64)))

    @property
    def total(self) -> int:
        return self.uplift + self.carried + int(self.aid.sum()) + self.services

    @property
    def rate(self) -> Decimal:
        return self.raised.rate


def aid_for_claimants(pot: int, uncovered: np.ndarray) -> np.ndarray:
    """Share ``pot`` by uncovered loss, never above it (largest remainder keeps the cap:
    when pot < total loss each exact share is below the loss, so floor + 1 fen is not above)."""
    loss = np.asarray(uncovered, dtype=np.int64)
    total = int(loss.sum())
    if total <= pot:
        return loss.copy()
    return split_fen_array(pot, loss)


def allocate(distributable: int, shares: Shares, uncovered: np.ndarray, basis: UpliftBasis,
             *, carried_in: int = 0) -> Allocation:
    """Cut ``distributable`` into uplift (one rate), aid per claimant, services and the
    carried remainder; ``carried_in`` (part of ``distributable``) goes to the uplift pot.

    ``basis`` is an UpliftBasis or anything with its length and ``buy(pot)`` (the close
    passes its policies' rows read in chunks, settlement.uplift.UpliftRows)."""
    if distributable < 0:
        raise ValueError("distributable surplus cannot be negative")
    carried_in = max(0, min(carried_in, distributable))
    pot, aid_pot, services = split_fen(distributable - carried_in,
                                       [shares.uplift, shares.aid, shares.services])
    uncovered = np.asarray(uncovered, dtype=np.int64)
    aid = aid_for_claimants(aid_pot, uncovered)
    returned = aid_pot - int(aid.sum())
    pot += returned + carried_in
    if len(basis) == 0 or pot == 0:
        return Allocation(0, aid, services + pot, pot, carried_in, 0, returned, pot, 0)
    raised = basis.buy(pot)
    left = pot - raised.spent
    overflow = min(left, max(0, carried_in - raised.spent))  # oldest money is spent first
    if overflow:
        to_aid, _ = split_fen(overflow, [shares.aid, shares.services])
        more = aid_for_claimants(to_aid, uncovered - aid)
        aid = aid + more
        services += overflow - int(more.sum())
    return Allocation(raised.spent, aid, services, pot, carried_in, left - overflow, returned,
                      0, overflow, raised)
