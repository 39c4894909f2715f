"""Solvency in the shape of C-ROSS II (偿二代二期), pure rules; amounts in integer fen.

The rules are 保险公司偿付能力监管规则第1号 (actual capital, 实际资本), 第2号 (minimum capital,
最低资本), 第4号 (insurance risk minimum capital for non-life business, 非寿险业务保险风险最低资本)
and the ratios and their thresholds (第1号-第4号, CBIRC 2021):

- actual capital = admitted assets - admitted liabilities; core capital (核心资本) is the part
  that absorbs losses while the mutual runs on: here the project's net assets in its books
  and the initial operating fund backing it; a borrowed fund (repaid from surplus only,
  subordinated) is supplementary capital (附属资本) instead;
- minimum capital for non-life insurance risk, per line of business: premium risk
  (保费风险) = net earned premium of the last year x the premium risk factor, reserve risk
  (准备金风险) = net claims reserves x the reserve risk factor, combined with correlation rho:
  sqrt(P^2 + R^2 + 2 rho P R); lines are added without diversification credit (a prudent
  simplification: one pool rarely holds more than one line). Catastrophe, market, credit
  and operational risk are not modelled;
- comprehensive solvency ratio (综合偿付能力充足率) = actual / minimum capital, at least 100%;
  core solvency ratio (核心偿付能力充足率) = core / minimum capital, at least 50%.

The factors are data (``SolvencyFactor`` rows, docs/operations.md); the defaults below are
demo values, marked as such on every report, until an actuary files the rule's own.

>>> m = minimum_capital([LineRisk("accident", premium=1_000_000_00, reserve=200_000_00,
...                                premium_factor=Decimal("0.10"),
...                                reserve_factor=Decimal("0.15"))])
>>> m.premium_risk, m.reserve_risk, m.total
(10000000, 3000000, 11789826)
>>> a = assess(actual=15_000_000, core=15_000_000, minimum=m.total)
>>> a.comprehensive_ratio, a.core_ratio, a.passed
(Decimal('1.2723'), Decimal('1.2723'), True)
>>> a.headroom  # what may leave capital and keep both ratios at their thresholds
3210174
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from mutua.errors import Worded

COMPREHENSIVE_THRESHOLD = Decimal("1.00")
CORE_THRESHOLD = Decimal("0.50")
PREMIUM_RESERVE_CORRELATION = Decimal("0.5")  # demo value; see the module docstring
RATIO_PLACES = Decimal("0.0001")

# line -> (premium risk factor, reserve risk factor): demo values, not the rule's annex.
DEMO_FACTORS: dict[str, tuple[Decimal, Decimal]] = {
    "accident": (Decimal("0.11"), Decimal("0.13")),
    "health": (Decimal("0.12"), Decimal("0.14")),
    "ckd": (Decimal("0.12"), Decimal("0.14")),
}
DEMO_SOURCE = "demo values: file the factors of C-ROSS II Rule No.4 before reporting"


@dataclass(frozen=True)
class LineRisk:
    line: str
    premium: int  # net earned premium of the last four quarters
    reserve: int  # net claims reserves (case reserves and IBNR, less reinsurers' share)
    premium_factor: Decimal
    reserve_factor: Decimal


@dataclass(frozen=True)
class MinimumCapital:
    premium_risk: int
    reserve_risk: int
    total: int
    lines: tuple[tuple[str, int, int, int], ...]  # (line, premium risk, reserve risk, total)


def _fen(x: Decimal) -> int:
    return int(x.to_integral_value(rounding=ROUND_HALF_UP))


def minimum_capital(lines: list[LineRisk],
                    correlation: Decimal = PREMIUM_RESERVE_CORRELATION) -> MinimumCapital:
    """Minimum capital for non-life insurance risk; each line's premium and reserve risk
    combined by ``correlation``, lines added."""
    out = []
    for r in lines:
        p = Decimal(max(r.premium, 0)) * r.premium_factor
        v = Decimal(max(r.reserve, 0)) * r.reserve_factor
        both = (p * p + v * v + 2 * correlation * p * v).sqrt()
        out.append((r.line, _fen(p), _fen(v), _fen(both)))
    return MinimumCapital(sum(x[1] for x in out), sum(x[2] for x in out),
                          sum(x[3] for x in out), tuple(out))


@dataclass(frozen=True)
class Assessment:
    actual: int
    core: int
    minimum: int

    def _ratio(self, capital: int) -> Decimal | None:
        if self.minimum <= 0:
            return None
        return (Decimal(capital) / Decimal(self.minimum)).quantize(RATIO_PLACES,
                                                                  rounding=ROUND_HALF_UP)

    @property
    def comprehensive_ratio(self) -> Decimal | None:
        return self._ratio(self.actual)

    @property
    def core_ratio(self) -> Decimal | None:
        return self._ratio(self.core)

    @property
    def passed(self) -> bool:
        """Both ratios at or above their thresholds (no risk at all: nothing to cover)."""
        if self.minimum <= 0:
            return self.actual >= 0
        return (self.actual >= self.minimum * COMPREHENSIVE_THRESHOLD
                and self.core >= self.minimum * CORE_THRESHOLD)

    @property
    def headroom(self) -> int:
        """Capital that may leave (a distribution) with both ratios still at threshold."""
        need_actual = _fen(Decimal(self.minimum) * COMPREHENSIVE_THRESHOLD)
        need_core = _fen(Decimal(self.minimum) * CORE_THRESHOLD)
        return max(0, min(self.actual - need_actual, self.core - need_core))


def assess(*, actual: int, core: int, minimum: int) -> Assessment:
    return Assessment(actual, core, minimum)


def capital_tiers(net_assets: int, operating_fund: int, *, borrowed: bool) -> tuple[int, int]:
    """(core, supplementary) capital: the project's net assets in its books, and the initial
    operating fund (初始运营资金) backing it, held outside the project's books. A fund the
    members or founders contributed is core; a borrowed one, repaid from surplus only, is
    supplementary (附属资本).

    >>> capital_tiers(500_00, 2_000_00, borrowed=False), capital_tiers(500_00, 2_000_00, borrowed=True)
    ((250000, 0), (50000, 200000))
    """
    fund = max(operating_fund, 0)
    return (net_assets, fund) if borrowed else (net_assets + fund, 0)


def percent_text(ratio: Decimal | None) -> str | None:
    """A ratio as a percentage with two decimals: 1.2723 -> '127.23'."""
    return None if ratio is None else str((ratio * 100).quantize(Decimal("0.01")))


def gate_reason(a: Assessment, distributable_before: int, allowed: int) -> Worded:
    """Why the solvency gate passed, limited or held back the distribution, in one line."""
    ratios = {"comp": percent_text(a.comprehensive_ratio), "core": percent_text(a.core_ratio)}
    if a.minimum <= 0:
        return Worded("no insurance risk on the books: minimum capital is zero")
    if not a.passed:
        return Worded("comprehensive solvency ratio %(comp)s%% (at least 100%%), core "
                      "%(core)s%% (at least 50%%): below a threshold, so no surplus is "
                      "distributed", **ratios)
    if allowed < distributable_before:
        return Worded("comprehensive solvency ratio %(comp)s%% (at least 100%%), core "
                      "%(core)s%% (at least 50%%): only %(allowed)s may be distributed and keep "
                      "both ratios at their thresholds; the rest is retained",
                      allowed=f"{allowed / 100:,.2f}", **ratios)
    return Worded("comprehensive solvency ratio %(comp)s%% (at least 100%%), core %(core)s%% "
                  "(at least 50%%)", **ratios)
