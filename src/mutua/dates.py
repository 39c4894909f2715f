"""Time rules: cover dates are calendar dates in Asia/Shanghai, timestamps are UTC.

Quarters are calendar quarters named like ``2026Q3``.

>>> q = Quarter.parse("2026Q3")
>>> q.start, q.end, str(q.next())
(datetime.date(2026, 7, 1), datetime.date(2026, 9, 30), '2026Q4')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """Today's date in Shanghai: the date that decides whether cover is in force."""
    return datetime.now(SHANGHAI).date()


def parse_date(value: object, *, field: str = "date") -> date:
    from mutua.errors import ValidationFailed

    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed(field, f"must be a real date as YYYY-MM-DD, got {value!r}") from None


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int

    @classmethod
    def parse(cls, text: str, *, field: str = "quarter") -> Quarter:
        from mutua.errors import ValidationFailed

        m = _QUARTER.match(str(text).strip())
        if not m:
            raise ValidationFailed(field, f"must look like 2026Q3, got {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, d: date) -> Quarter:
        return cls(d.year, (d.month - 1) // 3 + 1)

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + self.q // 4, self.q % 4 + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - (1 if self.q == 1 else 0), 4 if self.q == 1 else self.q - 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"


def quarters_between(first: date, last: date) -> list[Quarter]:
    """Every quarter touched by the inclusive date range, in order."""
    out, q = [], Quarter.of(first)
    while q.start <= last:
        out.append(q)
        q = q.next()
    return out


def age_on(birth: date, on: date) -> int:
    """Completed years of age on a date (周岁)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
