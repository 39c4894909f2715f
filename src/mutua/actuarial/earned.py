"""Earned premium and the unearned premium reserve by the daily (1/365) method.

已赚保费 / 未到期责任准备金. Cover dates are inclusive, so a one-year policy from
2025-02-15 to 2026-02-14 runs 365 days. Premium is earned evenly per day of cover; the
cumulative earned premium at the end of a day is ``premium x days elapsed / term days``,
rounded to the fen, and a quarter's earned premium is the difference of two cumulative
figures. Rounding each cumulative figure once (not each quarter) is what makes the
quarters add up to the premium exactly.

>>> from decimal import Decimal
>>> from datetime import date
>>> rows = earned_by_quarter(Decimal("1200"), date(2025, 2, 15), date(2026, 2, 14))
>>> str(rows[0].quarter), rows[0].earned, rows[0].unearned_at_end
('2025Q1', Decimal('147.95'), Decimal('1052.05'))
>>> sum(r.earned for r in rows)
Decimal('1200.00')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from mutua.dates import Quarter, quarters_between
from mutua.errors import ValidationFailed
from mutua.money import from_fen, to_fen


@dataclass(frozen=True)
class QuarterEarning:
    quarter: Quarter
    earned: Decimal
    unearned_at_end: Decimal


def check_cover(premium: Decimal, start: date, end: date) -> None:
    if premium <= 0:
        raise ValidationFailed("premium", "must be greater than zero")
    if end < start:
        raise ValidationFailed("end", "cover end must not be before its start")


def term_days(start: date, end: date) -> int:
    """Days of cover, both ends inclusive."""
    return (end - start).days + 1


def cumulative_earned_fen(premium_fen: int, start: date, end: date, as_of: date) -> int:
    """Premium earned by the end of ``as_of`` in fen (round half up, exact integers)."""
    days = term_days(start, end)
    elapsed = min(max((as_of - start).days + 1, 0), days)
    return (2 * premium_fen * elapsed + days) // (2 * days)


def earned_between(premium: Decimal, start: date, end: date, first: date, last: date) -> Decimal:
    """Premium earned on the days first..last (inclusive) of the cover."""
    check_cover(premium, start, end)
    p = to_fen(premium)
    before = cumulative_earned_fen(p, start, end, first.fromordinal(first.toordinal() - 1))
    return from_fen(cumulative_earned_fen(p, start, end, last) - before)


def earned_by_quarter(premium: Decimal, start: date, end: date) -> list[QuarterEarning]:
    """Each calendar quarter the cover touches, with its earned premium and the UPR at its end."""
    check_cover(premium, start, end)
    p = to_fen(premium)
    out, before = [], 0
    for q in quarters_between(start, end):
        cum = cumulative_earned_fen(p, start, end, q.end)
        out.append(QuarterEarning(q, from_fen(cum - before), from_fen(p - cum)))
        before = cum
    return out


def cumulative_earned_fen_array(
    premium_fen: np.ndarray, start_ord: np.ndarray, end_ord: np.ndarray, as_of_ord: int
) -> np.ndarray:
    """Vectorised :func:`cumulative_earned_fen` over columns of policies (dates as ordinals)."""
    days = end_ord - start_ord + 1
    elapsed = np.clip(as_of_ord - start_ord + 1, 0, days)
    return (2 * premium_fen.astype(np.int64) * elapsed + days) // (2 * days)


def earned_in_quarter_fen_array(
    premium_fen: np.ndarray, start_ord: np.ndarray, end_ord: np.ndarray, quarter: Quarter
) -> np.ndarray:
    """Each policy's earned premium in the quarter, in fen."""
    last = cumulative_earned_fen_array(premium_fen, start_ord, end_ord, quarter.end.toordinal())
    first = cumulative_earned_fen_array(
        premium_fen, start_ord, end_ord, quarter.start.toordinal() - 1
    )
    return last - first
