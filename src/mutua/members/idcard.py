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

import re
from dataclasses import dataclass
from datetime import date

from mutua.errors import ValidationFailed
from mutua.members.identifiers import canonical_text

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"  # remainder 0..10 -> check character
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")  # ASCII only: \d would take any script's digits
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
    n = canonical_id_number(number)
    if len(n) != 18:
        return f"must be 18 characters, got {len(n)}"
    if not _SHAPE.fullmatch(n):
        return "must be 17 digits followed by a digit or X"
    if int(n[:2]) not in PROVINCES:
        return f"area code {n[:6]} is not a Chinese province-level area"
    try:
        birth = date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return f"birth date {n[6:14]} is not a real date"
    if birth.year < 1900 or birth > (today or date.today()):
        return f"birth date {birth.isoformat()} is impossible"
    if n[14:17] == "000":
        return "sequence code 000 is not issued"
    expected = check_character(n[:17])
    if n[17] != expected:
        return f"check character is {n[17]}, expected {expected} (ISO 7064 MOD 11-2)"
    return None


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
