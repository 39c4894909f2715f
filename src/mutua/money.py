"""Money: Decimal yuan in the domain, integer fen in the database.

Every amount is made here, so rounding happens in one place: ROUND_HALF_UP to the
fen, once, at the end of a computation.

>>> to_money("12.345")
Decimal('12.35')
>>> to_fen(Decimal("12.35")), from_fen(1235)
(1235, Decimal('12.35'))
>>> split_by_weights(Decimal("100.00"), [1, 1, 1])
[Decimal('33.34'), Decimal('33.33'), Decimal('33.33')]
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np

from mutua.errors import ValidationFailed, Worded

FEN = Decimal("0.01")
# No amount a mutual handles comes near this; beyond it a BIGINT of fen is at risk.
LIMIT = Decimal(10) ** 12
ZERO = Decimal("0.00")


def to_money(value: object, *, field: str = "amount") -> Decimal:
    """Parse a yuan amount (str, int, Decimal) and round it to the fen.

    Floats are refused: a float has already lost the fen it should carry.
    """
    if isinstance(value, (float, bool)):
        raise ValidationFailed(field, "must be a decimal string or integer, not a float")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(field, "must be a number, got %(got)s", got=f"{value!r}") from None
    if not amount.is_finite():
        raise ValidationFailed(field, "must be a finite number")
    if abs(amount) >= LIMIT:
        raise ValidationFailed(field, "must be below 1,000,000,000,000 yuan in size")
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


AMOUNT_RULE = Worded("must be an amount in yuan")


def plain_yuan(text: object) -> str:
    """An amount as people type it on a form, in a file or at the command line, without
    thousands separators, the yuan sign and surrounding spaces.

    >>> plain_yuan(" ¥1,234.50 "), plain_yuan(None)
    ('1234.50', '')
    """
    return str("" if text is None else text).replace(",", "").replace("¥", "").strip()


def parse_yuan(text: object, *, field: str = "amount") -> Decimal | None:
    """The one parser of typed amounts in yuan: :func:`plain_yuan`, then a finite decimal;
    blank is None. Not rounded and any sign: the caller's rule says what it accepts.

    >>> parse_yuan("¥1,234.50"), parse_yuan("-3"), parse_yuan("  ")
    (Decimal('1234.50'), Decimal('-3'), None)
    >>> parse_yuan("12 yuan", field="deductible")
    Traceback (most recent call last):
    mutua.errors.ValidationFailed: deductible: must be an amount in yuan
    """
    plain = plain_yuan(text)
    if not plain:
        return None
    try:
        value = Decimal(plain)
    except (InvalidOperation, ValueError):
        raise ValidationFailed(field, AMOUNT_RULE) from None
    if not value.is_finite():
        raise ValidationFailed(field, AMOUNT_RULE)
    return value


def non_negative_money(value: object, *, field: str = "amount") -> Decimal:
    amount = to_money(value, field=field)
    if amount < 0:
        raise ValidationFailed(field, "must not be negative")
    return amount


def round_fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def to_fen(amount: Decimal) -> int:
    """Yuan -> integer fen, rounding half up (the one rounding step)."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_fen(fen: int) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(FEN)


def fmt(amount: Decimal) -> str:
    """Yuan as a plain string with two decimals, as the JSON outputs print it."""
    return f"{round_fen(amount):.2f}"


def split_fen(total_fen: int, weights: Sequence[int | float | Decimal]) -> list[int]:
    """Split integer fen by weights with the largest-remainder method.

    The parts always add up to ``total_fen``; ties go to the earlier weight.
    Zero total weight gives all zeros (nothing to share by).

    >>> split_fen(100, [1, 1, 1])
    [34, 33, 33]
    >>> split_fen(-5, [1, 1])
    [-3, -2]
    """
    if total_fen < 0:
        return [-p for p in split_fen(-total_fen, weights)]
    ws = [Decimal(str(w)) for w in weights]
    if any(w < 0 for w in ws):
        raise ValueError("weights must not be negative")
    total_w = sum(ws, Decimal(0))
    if total_w == 0 or total_fen == 0:
        return [0] * len(ws)
    exact = [Decimal(total_fen) * w / total_w for w in ws]
    floors = [int(e.to_integral_value(rounding=ROUND_DOWN)) for e in exact]
    short = total_fen - sum(floors)
    order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:short]:
        floors[i] += 1
    return floors


def split_fen_array(total_fen: int, weights: np.ndarray) -> np.ndarray:
    """Vectorised largest-remainder split for a million weights (int64 fen out).

    Weights are integers (fen of contribution, say) so the arithmetic is exact:
    total * w_i fits in int64 for totals below ~9e9 fen when weights are below 1e9;
    beyond that it falls back to Python integers column by column.
    """
    w = np.asarray(weights, dtype=np.int64)
    if (w < 0).any():
        raise ValueError("weights must not be negative")
    total_w = int(w.sum())
    n = len(w)
    if total_w == 0 or total_fen == 0 or n == 0:
        return np.zeros(n, dtype=np.int64)
    sign = 1 if total_fen > 0 else -1
    t = abs(int(total_fen))
    if t * int(w.max()) < 2**62:
        prod = w * t
        floors = prod // total_w
        rema = prod - floors * total_w
    else:  # exact but slower: Python big integers
        prod = np.array([int(x) * t for x in w], dtype=object)
        floors = (prod // total_w).astype(np.int64)
        rema = np.array([int(p) % total_w for p in prod], dtype=np.float64)
    short = t - int(floors.sum())
    if short:
        # largest remainder first; stable sort keeps earlier index first on ties
        order = np.argsort(-rema, kind="stable")[:short]
        floors[order] += 1
    return sign * floors


def split_by_weights(total: Decimal, weights: Sequence[int | float | Decimal]) -> list[Decimal]:
    """Split a yuan amount by weights to the fen; the parts add up to ``total``."""
    return [from_fen(p) for p in split_fen(to_fen(total), weights)]
