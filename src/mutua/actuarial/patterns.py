"""IBNR from a filed reporting pattern, blended toward the pool's own by credibility.

A young pool's own triangle says nothing about claims still to be reported: with one
origin quarter, or with every claim reported in the quarter it happened, its development
factor is 1 and Bornhuetter-Ferguson on it books zero IBNR. So each product files a
reporting pattern (报案进展模式): the share of the ultimate claims of an accident quarter
still unreported at the end of each development quarter (0 = the accident quarter itself).
Bornhuetter-Ferguson then reads

    IBNR = sum over origin quarters i of earned premium_i x expected loss ratio x u(k_i)

where k_i is how many quarters origin i has developed by the close and u(k) the share
still unreported (Friedland, "Estimating Unpaid Claims Using Basic Techniques", CAS 2010,
ch. 9: IBNR = expected claims x (1 - 1/CDF), and 1 - 1/CDF is the share unreported).

Once the pool has MIN_DEVELOPMENT_QUARTERS development quarters and MIN_CLAIMS claims, its
own chain-ladder pattern (u_own(k) = 1 - 1/CDF_k) gets weight Z by limited-fluctuation
credibility, Z = min(1, sqrt(n / FULL_CREDIBILITY_CLAIMS)) (Friedland ch. 9 on
credibility-weighting the methods' indications; the full-credibility standard of 1,082
claims, 90% probability of being within 5% of the expected number, is from Mahler and
Dean, "Credibility", Foundations of Casualty Actuarial Science, 4th ed., ch. 8), and

    u(k) = Z x u_own(k) + (1 - Z) x u_filed(k).

Worked example (CHILD 2026Q3 of the demo): earned premium 6,974.40, expected loss ratio
0.55, 15% unreported at the end of the accident quarter, 2026Q2 earned 6,000.00 and 3%
unreported after one quarter:

>>> from decimal import Decimal as D
>>> bf_ibnr([697_440, 600_000], D("0.55"), [D("0.15"), D("0.03"), D("0")])
67439
>>> # 697,440 x 0.55 x 0.15 = 57,538.8 fen and 600,000 x 0.55 x 0.03 = 9,900 fen: 674.39 yuan
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from mutua.errors import Worded

MIN_DEVELOPMENT_QUARTERS = 4
# Below this many claims a pool's link ratios are one or two claims' luck, not a pattern.
MIN_CLAIMS = 30
FULL_CREDIBILITY_CLAIMS = 1082
MAX_PATTERN_QUARTERS = 40
SHARE_PLACES = Decimal("0.000001")

BF_FILED = "bf_filed"  # Bornhuetter-Ferguson on the products' filed pattern
BF_BLENDED = "bf_blended"  # ... on the filed pattern blended with the pool's own
CHAIN_LADDER = "chainladder"  # the pool's own chain ladder, its history being enough


def check_pattern(shares: Sequence[Decimal]) -> list[Worded]:
    """The rules a filed reporting pattern keeps; each broken rule's text.

    >>> check_pattern([Decimal("0.15"), Decimal("0.05"), Decimal("0")])
    []
    >>> check_pattern([Decimal("0.05"), Decimal("0.15")])
    ['must not rise from one quarter to the next', 'must end at 0 (every claim reported)']
    """
    out = []
    if not shares:
        return [Worded("needs at least one quarter")]
    if len(shares) > MAX_PATTERN_QUARTERS:
        out.append(Worded("must have at most %(limit)s quarters", limit=MAX_PATTERN_QUARTERS))
    if any(not Decimal(0) <= s <= Decimal(1) for s in shares):
        out.append(Worded("shares must be between 0 and 1"))
    if any(b > a for a, b in zip(shares, shares[1:], strict=False)):
        out.append(Worded("must not rise from one quarter to the next"))
    if shares[-1] != 0:
        out.append(Worded("must end at 0 (every claim reported)"))
    return out


def unreported(pattern: Sequence[Decimal], k: int) -> Decimal:
    """Share still unreported after development quarter ``k``; 0 past the pattern's end.

    >>> unreported([Decimal("0.15"), Decimal("0")], 0), unreported([Decimal("0.15")], 5)
    (Decimal('0.15'), Decimal('0'))
    """
    return pattern[k] if 0 <= k < len(pattern) else Decimal(0)


def own_pattern(link_ratios: Sequence[float]) -> list[Decimal]:
    """The pool's own pattern from its chain-ladder link ratios: u(k) = 1 - 1/CDF_k, held
    in [0, 1] (an incurred triangle whose reserves were released can fall), ending at 0.

    >>> own_pattern([1.25, 1.0])  # CDF 1.25, 1, 1: a fifth unreported after quarter 0
    [Decimal('0.200000'), Decimal('0'), Decimal('0')]
    """
    cdf, out = 1.0, []
    for f in reversed(list(link_ratios)):
        cdf *= f
        share = 1 - 1 / cdf if cdf > 0 else 0.0
        out.append(min(max(Decimal(repr(share)), Decimal(0)), Decimal(1)))
    out = [s.quantize(SHARE_PLACES) if s else Decimal(0) for s in reversed(out)]
    return out + [Decimal(0)]


def credibility(claims: int) -> Decimal:
    """Limited-fluctuation credibility of ``claims`` claims, to six places.

    >>> credibility(1082), credibility(120), credibility(5000)
    (Decimal('1.000000'), Decimal('0.333025'), Decimal('1'))
    """
    if claims >= FULL_CREDIBILITY_CLAIMS:
        return Decimal(1) if claims > FULL_CREDIBILITY_CLAIMS else Decimal("1.000000")
    return Decimal(repr(math.sqrt(max(claims, 0) / FULL_CREDIBILITY_CLAIMS))).quantize(
        SHARE_PLACES)


def blend(filed: Sequence[Decimal], own: Sequence[Decimal], z: Decimal) -> list[Decimal]:
    """Z x own + (1 - Z) x filed, quarter by quarter, as long as the longer of the two.

    >>> blend([Decimal("0.2"), Decimal("0")], [Decimal("0.1"), Decimal("0")], Decimal("0.5"))
    [Decimal('0.150000'), Decimal('0.000000')]
    """
    n = max(len(filed), len(own))
    return [(z * unreported(own, k) + (1 - z) * unreported(filed, k)).quantize(SHARE_PLACES)
            for k in range(n)]


def weighted_pattern(patterns: Sequence[tuple[Sequence[Decimal], int]]) -> list[Decimal]:
    """One pattern for a pool of several products: each product's weighted by its expected
    claims (earned premium x loss ratio, in fen). No weight at all: the plain average.

    >>> weighted_pattern([([Decimal("0.2"), Decimal("0")], 300),
    ...                   ([Decimal("0.1"), Decimal("0.05"), Decimal("0")], 100)])
    [Decimal('0.175000'), Decimal('0.012500'), Decimal('0.000000')]
    """
    if not patterns:
        return [Decimal(0)]
    total = sum(max(w, 0) for _, w in patterns)
    weights = ([Decimal(max(w, 0)) / total for _, w in patterns] if total
               else [Decimal(1) / len(patterns)] * len(patterns))
    n = max(len(p) for p, _ in patterns)
    return [sum((w * unreported(p, k) for (p, _), w in zip(patterns, weights, strict=True)),
                Decimal(0)).quantize(SHARE_PLACES) for k in range(n)]


def bf_ibnr(premiums_by_age: Sequence[int], loss_ratio: Decimal,
            pattern: Sequence[Decimal]) -> int:
    """Bornhuetter-Ferguson IBNR in fen: premiums_by_age[k] is the earned premium (fen) of
    the origin quarter k quarters before the close's; rounded half up once, at the end.

    >>> bf_ibnr([697_440], Decimal("0.55"), [Decimal("0.15"), Decimal("0")])
    57539
    """
    exact = sum((Decimal(p) * loss_ratio * unreported(pattern, k)
                 for k, p in enumerate(premiums_by_age)), Decimal(0))
    return max(0, int(exact.to_integral_value(rounding=ROUND_HALF_UP)))


@dataclass(frozen=True)
class Basis:
    """Which method the close books and on which pattern, and why."""

    method: str
    credibility: Decimal
    pattern: list[Decimal]
    reason: str


def choose_basis(*, filed: Sequence[Decimal], link_ratios: Sequence[float],
                 development_quarters: int, claims: int, project_method: str) -> Basis:
    """The reserving basis of a close (see the module docstring).

    >>> f = [Decimal("0.15"), Decimal("0")]
    >>> b = choose_basis(filed=f, link_ratios=[1.0], development_quarters=2, claims=300,
    ...                  project_method="bf")
    >>> b.method, b.credibility, b.reason
    ('bf_filed', Decimal('0'), 'the pool has 2 development quarters (needs 4)')
    >>> b = choose_basis(filed=f, link_ratios=[1.1, 1.0, 1.0], development_quarters=4,
    ...                  claims=120, project_method="bf")
    >>> b.method, b.credibility, b.pattern[0]
    ('bf_blended', Decimal('0.333025'), Decimal('0.130321'))
    """
    filed = list(filed)
    if development_quarters < MIN_DEVELOPMENT_QUARTERS:
        reason = (Worded("the pool has 1 development quarter (needs %(needed)s)",
                         needed=MIN_DEVELOPMENT_QUARTERS) if development_quarters == 1 else
                  Worded("the pool has %(quarters)s development quarters (needs %(needed)s)",
                         quarters=development_quarters, needed=MIN_DEVELOPMENT_QUARTERS))
        return Basis(BF_FILED, Decimal(0), filed, reason)
    if claims < MIN_CLAIMS:
        return Basis(BF_FILED, Decimal(0), filed, Worded(
            "the pool has %(claims)s claims (needs %(needed)s)", claims=claims,
            needed=MIN_CLAIMS))
    z = credibility(claims)
    own = own_pattern(link_ratios)
    said = {"quarters": development_quarters, "claims": claims, "z": f"{z:.2f}",
            "full": FULL_CREDIBILITY_CLAIMS}
    if project_method == CHAIN_LADDER:
        return Basis(CHAIN_LADDER, z, own, Worded(
            "%(quarters)s development quarters and %(claims)s claims: the pool's own pattern "
            "has credibility %(z)s (full at %(full)s claims); the project books its chain "
            "ladder", **said))
    return Basis(BF_BLENDED, z, blend(filed, own, z), Worded(
        "%(quarters)s development quarters and %(claims)s claims: the pool's own pattern has "
        "credibility %(z)s (full at %(full)s claims)", **said))
