"""The occupation code table (职业分类表): each occupation's class, 1 (office) to 6 (highest risk).

Insurers file their own tables; this one ships with the package as demo data an
underwriter may change (members/occupations.csv). Couriers are class 5 and food delivery
riders class 6, as the source article describes for 深圳众惠保.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mutua.errors import ValidationFailed

TABLE = Path(__file__).with_name("occupations.csv")


@dataclass(frozen=True)
class Occupation:
    code: str
    name_zh: str
    name_en: str
    occupation_class: int


@lru_cache
def occupations() -> dict[str, Occupation]:
    with TABLE.open(encoding="utf-8") as f:
        return {
            r["code"]: Occupation(r["code"], r["name_zh"], r["name_en"], int(r["occupation_class"]))
            for r in csv.DictReader(f)
        }


def occupation(code: str, *, field: str = "occupation_code") -> Occupation:
    found = occupations().get(str(code).strip().upper())
    if found is None:
        raise ValidationFailed(field, "unknown occupation code %(code)s; see the occupation "
                                      "table", code=f"{code!r}")
    return found
