"""The demo catalogue: eleven projects of the kinds the source article names.

The product definitions live as YAML in ``demo/catalog/`` (the same format
``mutua catalog load`` reads), without sale periods: those are set relative to today so the
demo always has four closed quarterly periods (期), the quarter on sale now, and the next one
whose sale has not started. The kidney project takes its sixteen products from
``catalog/products/ckd.yaml`` when that file ships, periods included.

>>> [p["code"] for p in quarterly_periods(date(2026, 11, 25))]
['2025Q4', '2026Q1', '2026Q2', '2026Q3', '2026Q4', '2027Q1']
>>> quarterly_periods(date(2026, 11, 25))[4]["sale_start"]
'2026-09-17'
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.schemas import CatalogDef
from mutua.dates import Quarter

CATALOG = Path(__file__).with_name("catalog")
CKD = Path(catalog_service.__file__).with_name("products") / "ckd.yaml"
CLOSED_QUARTERS = 4
PRESALE_DAYS = 14  # a period goes on sale two weeks before its cover starts


def quarterly_periods(today: date) -> list[dict]:
    """Four closed quarters, the current one (on sale) and the next (not yet on sale)."""
    q = Quarter.of(today)
    quarters = [q]
    for _ in range(CLOSED_QUARTERS):
        quarters.insert(0, quarters[0].previous())
    quarters.append(q.next())
    return [{"code": str(x), "sale_start": (x.start - timedelta(days=PRESALE_DAYS)).isoformat(),
             "sale_end": x.end.isoformat(), "cover_start": x.start.isoformat()}
            for x in quarters]


def raw_definitions(today: date) -> list[dict]:
    """Every demo definition as a mapping, periods filled in, in file-name order."""
    periods = quarterly_periods(today)
    out = []
    for path in sorted(CATALOG.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if raw["project"]["code"] == "KIDNEY" and CKD.is_file():
            raw = yaml.safe_load(CKD.read_text(encoding="utf-8"))
        for product in raw.get("products") or []:
            product.setdefault("periods", [dict(p) for p in periods])
        out.append(raw)
    return out


def definitions(today: date) -> list[CatalogDef]:
    return [catalog_service.check_definition(raw) for raw in raw_definitions(today)]


def load(db: Session, *, today: date, actor: Principal) -> dict[str, list[str]]:
    """Create every demo project and product; returns project code -> product codes."""
    out = {}
    for defn in definitions(today):
        products = catalog_service.load_definition(db, defn=defn, actor=actor)
        out[defn.project.code] = [p.code for p in products]
    return out
