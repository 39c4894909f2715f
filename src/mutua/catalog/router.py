"""HTTP routes under /api/v1/catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog import service
from mutua.catalog.models import Product
from mutua.catalog.schemas import (
    BenefitOut,
    CatalogDef,
    PeriodDef,
    PeriodIn,
    PeriodOut,
    ProductOut,
    ProjectOut,
)
from mutua.dates import today
from mutua.deps import DbSession, Page, Paging, Router, allow

router = Router(prefix="/catalog", tags=["catalog"])

AnyCaller = Annotated[Principal, Depends(allow(*Role))]
Underwriter = Annotated[Principal, Depends(allow(Role.UNDERWRITER, Role.ACTUARY))]


def product_out(p: Product) -> ProductOut:
    return ProductOut(
        **{k: getattr(p, k) for k in ProductOut.model_fields if k not in ("benefits", "periods")},
        benefits=[BenefitOut(**{k: getattr(b, k) for k in BenefitOut.model_fields})
                  for b in p.benefits],
        periods=[PeriodOut(**{k: getattr(s, k) for k in PeriodOut.model_fields})
                 for s in p.periods],
    )


@router.get("/projects", response_model=Page[ProjectOut])
def projects(db: DbSession, actor: AnyCaller, paging: Paging) -> Page[ProjectOut]:
    """Every project (pool) with its product codes."""
    rows = service.list_projects(db)
    items = [ProjectOut(id=p.id, code=p.code, name_zh=p.name_zh, name_en=p.name_en,
                        target_group=p.target_group, status=p.status,
                        reserving_method=p.reserving_method,
                        products=[x.code for x in p.products]) for p in rows]
    return Page(items=items[paging.offset:paging.offset + paging.limit], total=len(items),
                limit=paging.limit, offset=paging.offset)


@router.get("/products/open", response_model=list[ProductOut])
def open_products(db: DbSession, actor: AnyCaller) -> list[ProductOut]:
    """Products with a period open for sale today (Shanghai)."""
    return [product_out(p) for p, _ in service.open_for_sale(db, on=today())]


@router.get("/products/{code}", response_model=ProductOut)
def product(code: Annotated[str, Path(max_length=40)], db: DbSession,
            actor: AnyCaller) -> ProductOut:
    return product_out(service.get_product(db, code=code))


@router.post("/definitions", response_model=list[ProductOut], status_code=201)
def load(db: DbSession, actor: Underwriter, body: CatalogDef) -> list[ProductOut]:
    """Load a project and products from a definition (the YAML format, as JSON)."""
    defn = service.check_definition(body.model_dump())
    products = service.load_definition(db, defn=defn, actor=actor)
    return [product_out(service.get_product(db, code=p.code)) for p in products]


@router.post("/periods", response_model=PeriodOut, status_code=201)
def add_period(body: PeriodIn, db: DbSession, actor: Underwriter) -> PeriodOut:
    """Open a new sale period for a product: its joining days may not share a day with
    another period's, and every problem is named at once."""
    period = PeriodDef(**body.model_dump(exclude={"product_code"}))
    row = service.open_period(db, product_code=body.product_code, period=period, actor=actor)
    return PeriodOut(**{k: getattr(row, k) for k in PeriodOut.model_fields})
