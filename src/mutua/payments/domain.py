"""Pure rules of collection: reading a settlement file's lines and checking a provider's
signed callback. No database here.

A settlement file (CSV or .xlsx, first sheet) has a header line naming these columns, in
any order (docs/premium-cycle.md; a sample is tests/data/collection-sample.csv):

    transaction_id, paid_on, amount, reference, member_number, payer

>>> line, problems = read_line(2, {"transaction_id": "B001", "paid_on": "2026-12-01",
...     "amount": "80.00", "reference": "P0000000001", "member_number": "M000000001",
...     "payer": "张三"})
>>> (line.amount, line.paid_on.isoformat(), problems)
(Decimal('80.00'), '2026-12-01', [])
>>> read_line(3, {"transaction_id": "", "paid_on": "2026-13-01", "amount": "-1",
...     "reference": "P1", "member_number": "", "payer": ""})[1]  # doctest: +NORMALIZE_WHITESPACE
[Problem(field='transaction_id', rule='must be 1 to 64 characters'),
 Problem(field='paid_on', rule='must be a date, e.g. 2026-01-01'),
 Problem(field='amount', rule='must be above zero')]
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mutua.errors import Problem, ValidationFailed
from mutua.money import to_money

COLUMNS = ("transaction_id", "paid_on", "amount", "reference", "member_number", "payer")
REQUIRED = ("transaction_id", "paid_on", "amount", "reference")
SOURCES = ("bank", "wechat", "alipay")
REPLAY_WINDOW_SECONDS = 300  # a callback signed longer ago than this (or ahead) is refused


@dataclass(frozen=True)
class Line:
    line_no: int
    transaction_id: str
    paid_on: date
    amount: Decimal
    reference: str
    member_number: str
    payer: str


def check_header(header: list[str] | None) -> list[str]:
    """The header's column names, or the file refused naming what is wrong."""
    names = [str(h or "").strip().lstrip("\ufeff").lower() for h in header or []]
    while names and not names[-1]:
        names.pop()
    missing = [c for c in REQUIRED if c not in names]
    unknown = [n or "(blank)" for n in names if n not in COLUMNS]
    if missing or unknown or len(set(names)) != len(names):
        raise ValidationFailed("file.header", "must name the columns %(columns)s once each "
                                              "(%(detail)s)", columns=", ".join(COLUMNS),
                               detail="member_number and payer may be left out")
    return names


def read_line(line_no: int, row: dict[str, str]) -> tuple[Line | None, list[Problem]]:
    """One line of a settlement file, or every problem with it."""
    get = {k: str(row.get(k) or "").strip() for k in COLUMNS}
    problems = []
    if not 1 <= len(get["transaction_id"]) <= 64:
        problems.append(Problem("transaction_id", "must be 1 to %(limit)s characters", limit=64))
    try:
        paid_on = date.fromisoformat(get["paid_on"][:10])
    except ValueError:
        paid_on = None
        problems.append(Problem("paid_on", "must be a date, e.g. 2026-01-01"))
    try:
        amount = to_money(get["amount"])
        if amount <= 0:
            problems.append(Problem("amount", "must be above zero"))
    except ValidationFailed as exc:
        amount = None
        problems += [p.at("amount") for p in exc.problems]
    if not 1 <= len(get["reference"]) <= 32:
        problems.append(Problem("reference", "must be 1 to %(limit)s characters", limit=32))
    if len(get["member_number"]) > 20:
        problems.append(Problem("member_number", "must be at most %(limit)s characters", limit=20))
    if problems:
        return None, problems
    return Line(line_no, get["transaction_id"], paid_on, amount, get["reference"],
                get["member_number"], get["payer"][:100]), []


def sign(secret: str, body: bytes) -> str:
    """The signature a provider puts on a callback: HMAC-SHA256 of the raw body, in hex.

    RFC 4231 test case 2 (key "Jefe"):

    >>> sign("Jefe", b"what do ya want for nothing?")
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'
    """
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(secret: str, body: bytes, signature: str) -> None:
    """Refuse a body whose signature is not the secret's (compared in constant time)."""
    if not hmac.compare_digest(sign(secret, body), signature.strip().lower()):
        raise ValidationFailed("signature", "does not match the body: the callback is refused")


def check_fresh(timestamp: int, now: int) -> None:
    """Refuse a callback signed outside the replay window around now (seconds).

    >>> check_fresh(1_000, 1_100)
    >>> check_fresh(1_000, 2_000)
    Traceback (most recent call last):
    ...
    mutua.errors.ValidationFailed: timestamp: is outside the 300-second window around now
    """
    if abs(now - timestamp) > REPLAY_WINDOW_SECONDS:
        raise ValidationFailed("timestamp", "is outside the %(seconds)s-second window around "
                                            "now", seconds=REPLAY_WINDOW_SECONDS)
