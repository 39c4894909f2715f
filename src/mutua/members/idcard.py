"""Resident identity numbers (居民身份证号码), GB 11643-1999.

18 characters: a 6-digit area code, an 8-digit birth date (YYYYMMDD), a 3-digit sequence
(odd for men, even for women) and a check character computed by ISO 7064 MOD 11-2.

>>> parse_id_number("11010519491231002X").birth_date
datetime.date(1949, 12, 31)
>>> parse_id_number("11010519491231002X").sex
'F'
>>> check_character("11010519491231002")
'X'
>>> canonical_id_number("１１０１０５１９４９１２３１００２ｘ")
'11010519491231002X'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from mutua.dates import today as shanghai_today
from mutua.errors import ValidationFailed, Worded
from mutua.members.identifiers import canonical_text

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"  # remainder 0..10 -> check character
# First two digits: the province-level code (GB/T 2260). 11 Beijing ... 82 Macao.
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)


@dataclass(frozen=True)
class IdNumber:
    number: str
    birth_date: date
    sex: str  # "F" | "M"
    area_code: str


def check_character(first17: str) -> str:
    total = sum(map(int.__mul__, map(int, first17), WEIGHTS))  # a bulk import checks millions
    return CHECK[total % 11]


def canonical_id_number(number: object) -> str:
    """The one form an ID number is checked and stored in: NFKC-folded, stripped, upper case."""
    return canonical_text(number).upper()


def id_problem(number: str, *, today: date | None = None) -> str | None:
    """The rule the number breaks, or None if it is valid (in its canonical form)."""
    return check_id_numbers([number], today=today or shanghai_today()).problems[0]


@dataclass(frozen=True)
class IdColumn:
    """A column of ID numbers checked at once: for each, its canonical form and either the
    rule it breaks or the birth date and sex it carries."""

    numbers: list[str]
    problems: list[str | None]
    birth_dates: list[date | None]
    sexes: list[str | None]


# The rules in the order a number is checked; a number is reported by the first it breaks.
LENGTH, SHAPE, AREA, REAL_DATE, POSSIBLE_DATE, SEQUENCE, CHECK_CHARACTER = range(7)
_AREAS = np.array(sorted(PROVINCES))
_CHECK_BYTES = np.frombuffer(CHECK.encode("ascii"), dtype=np.uint8)
_DIGIT_VALUES = np.array([1000, 100, 10, 1])


def check_id_numbers(numbers: Sequence[object], *, today: date) -> IdColumn:
    """Every rule of :func:`id_problem` over a column at once (numpy), for bulk imports.

    >>> c = check_id_numbers(["11010519491231002X", "110105194912310021", "1234"],
    ...                      today=date(2026, 1, 1))
    >>> c.problems[0], c.birth_dates[0], c.sexes[0]
    (None, datetime.date(1949, 12, 31), 'F')
    >>> c.problems[1:]
    ['check character is 1, expected X (ISO 7064 MOD 11-2)', 'must be 18 characters, got 4']
    """
    canon = [canonical_id_number(n) for n in numbers]
    count = len(canon)
    fits = np.fromiter((len(n) == 18 and n.isascii() for n in canon), bool, count)
    text = "".join(n if ok else "?" * 18 for n, ok in zip(canon, fits, strict=True))
    chars = np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(count, 18)
    d = chars.astype(np.int64) - ord("0")
    is_digit = (d >= 0) & (d <= 9)
    year, month, day = d[:, 6:10] @ _DIGIT_VALUES, d[:, 10:12] @ _DIGIT_VALUES[2:], \
        d[:, 12:14] @ _DIGIT_VALUES[2:]
    first_of_month = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    days_in_month = ((first_of_month + 1).astype("datetime64[D]")
                     - first_of_month.astype("datetime64[D]")).astype(np.int64)
    birth = first_of_month.astype("datetime64[D]") + (day - 1)
    expected = _CHECK_BYTES[(d[:, :17] @ np.array(WEIGHTS)) % 11]
    broken = np.stack([  # one column per rule, in the order of the rule numbers above
        np.fromiter((len(n) != 18 for n in canon), bool, count),
        ~(fits & is_digit[:, :17].all(axis=1) & (is_digit[:, 17] | (chars[:, 17] == ord("X")))),
        ~np.isin(d[:, 0] * 10 + d[:, 1], _AREAS),
        ~((year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= days_in_month)),
        (year < 1900) | (birth > np.datetime64(today, "D")),
        (d[:, 14:17] == 0).all(axis=1),
        chars[:, 17] != expected,
    ], axis=1)
    bad = broken.any(axis=1)
    first = broken.argmax(axis=1)
    problems: list[str | None] = [None] * count
    for i in np.flatnonzero(bad).tolist():
        problems[i] = _id_rule_problem(int(first[i]), canon[i], chr(expected[i]))
    births = birth.astype(object).tolist()
    sexes = np.where(d[:, 16] % 2 == 1, "M", "F").tolist()
    return IdColumn(canon, problems,
                    [None if b else x for b, x in zip(bad.tolist(), births, strict=True)],
                    [None if b else x for b, x in zip(bad.tolist(), sexes, strict=True)])


def _id_rule_problem(rule: int, n: str, expected: str) -> Worded:
    """The text of the first rule a canonical number ``n`` breaks."""
    if rule == LENGTH:
        return Worded("must be 18 characters, got %(got)s", got=len(n))
    if rule == SHAPE:
        return Worded("must be 17 digits followed by a digit or X")
    if rule == AREA:
        return Worded("area code %(code)s is not a Chinese province-level area", code=n[:6])
    if rule == REAL_DATE:
        return Worded("birth date %(day)s is not a real date", day=n[6:14])
    if rule == POSSIBLE_DATE:
        return Worded("birth date %(day)s is impossible", day=f"{n[6:10]}-{n[10:12]}-{n[12:14]}")
    if rule == SEQUENCE:
        return Worded("sequence code 000 is not issued")
    return Worded("check character is %(got)s, expected %(expected)s (ISO 7064 MOD 11-2)",
                  got=n[17], expected=expected)


def parse_id_number(number: str, *, field: str = "id_number", today: date | None = None) -> IdNumber:
    problem = id_problem(number, today=today)
    if problem:
        raise ValidationFailed(field, problem)
    return read_checked(canonical_id_number(number))


def read_checked(n: str) -> IdNumber:
    """The parts of a canonical number :func:`id_problem` has passed (not checked again).

    >>> read_checked("11010519491231002X").area_code
    '110105'
    """
    birth = date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    return IdNumber(number=n, birth_date=birth, sex="M" if int(n[16]) % 2 else "F", area_code=n[:6])


def mask_id_number(number: str) -> str:
    """Show the area and the check character only: 440305********123X -> 4403**********123X."""
    return number[:4] + "*" * 10 + number[14:]


def make_id_number(area: str, birth: date, sequence: int) -> str:
    """A valid number for synthetic members (the demo and tests)."""
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
