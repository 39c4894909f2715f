"""Time rules: cover dates are calendar dates in Asia/Shanghai, timestamps are UTC.

Quarters are calendar quarters named like ``2026Q3``, of the years the system supports
(2000 to 2100); :meth:`Quarter.parse` is the one parser every API field, page, command and
service reads them with.

>>> q = Quarter.parse("2026Q3")
>>> q.start, q.end, str(q.next())
(datetime.date(2026, 7, 1), datetime.date(2026, 9, 30), '2026Q4')
>>> Quarter.parse("０Q1")
Traceback (most recent call last):
...
mutua.errors.ValidationFailed: quarter: must look like 2026Q3, got '０Q1'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from mutua.errors import ValidationFailed, shown

SHANGHAI = ZoneInfo("Asia/Shanghai")
# ASCII digits only: \d would also take full-width and Arabic-Indic digits.
_QUARTER = re.compile(r"([0-9]{4})[Qq]([1-4])")
# The years a quarter, a cover date or a close may fall in. Wider ranges bought nothing but
# loops a caller could make run for ever (a triangle to 9999, a quarter of year 0).
FIRST_YEAR, LAST_YEAR = 2000, 2100


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """Today's date in Shanghai: the date that decides whether cover is in force."""
    return datetime.now(SHANGHAI).date()


def parse_date(value: object, *, field: str = "date") -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed(field, "must be a real date as YYYY-MM-DD, got %(got)s",
                                      got=f"{value!r}") from None


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int

    @classmethod
    def parse(cls, text: object, *, field: str = "quarter") -> Quarter:
        """The quarter named ``YYYYQn`` (full-width characters read as their ASCII forms),
        of a year from 2000 to 2100; anything else is refused naming ``field``.

        >>> Quarter.parse(" 2026q4 "), Quarter.parse("２０２６Q１")
        (Quarter(year=2026, q=4), Quarter(year=2026, q=1))
        >>> Quarter.parse("9999Q4", field="payload.effective_from")
        Traceback (most recent call last):
        ...
        mutua.errors.ValidationFailed: payload.effective_from: must be a quarter from 2000Q1 \
to 2100Q4, got '9999Q4'
        """
        if isinstance(text, Quarter):
            return text
        m = _QUARTER.fullmatch(unicodedata.normalize("NFKC", str(text)).strip())
        if not m:
            raise ValidationFailed(field, "must look like 2026Q3, got %(got)s", got=shown(text))
        year = int(m.group(1))
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValidationFailed(field, "must be a quarter from %(first)s to %(last)s, got %(got)s",
                                   first=f"{FIRST_YEAR}Q1", last=f"{LAST_YEAR}Q4", got=shown(text))
        return cls(year, int(m.group(2)))

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
        return f"{self.year:04d}Q{self.q}"


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
