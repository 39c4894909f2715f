"""The catalogue (/staff/catalog): projects, products, benefits, sale periods and the
coefficient table in force; underwriters load a product definition (YAML)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.deps import DbSession
from mutua.errors import Conflict, Forbidden, ValidationFailed
from mutua.web.pages.staff import open_to
from mutua.web.render import redirect, render

router = APIRouter(prefix="/staff/catalog")
MAX_DEFINITION_BYTES = 1024 * 1024


def _page(request, db, *, problems=None, status_code=200, loaded=None):
    return render(request, "staff/catalog.html", status_code=status_code,
                  projects=catalog_service.list_projects(db), problems=problems or [],
                  loaded=loaded)


@router.get("")
def catalogue(request: Request, db: DbSession, principal: Principal = open_to("catalog")):
    return _page(request, db, loaded=request.query_params.get("loaded"))


@router.get("/products/{code}")
def product(code: str, request: Request, db: DbSession,
            principal: Principal = open_to("catalog")):
    item = catalog_service.get_product(db, code=code)
    tables = {}
    for period in item.periods:
        if period.coefficient_table_id not in tables:
            tables[period.coefficient_table_id] = _grid(
                catalog_service.table_cells(db, table_id=period.coefficient_table_id))
    return render(request, "staff/product.html", product=item, tables=tables)


def _grid(cells) -> dict:
    """Cells as rows of age bands by occupation classes, for a table."""
    classes = sorted({c.occupation_class for c in cells})
    bands = sorted({(c.age_min, c.age_max) for c in cells})
    value = {(c.age_min, c.occupation_class): c.coefficient for c in cells}
    return {"classes": classes,
            "rows": [((lo, hi), [value.get((lo, k)) for k in classes]) for lo, hi in bands]}


@router.post("/definitions")
def load(request: Request, db: DbSession, principal: Principal = open_to("catalog"),
         definition: Annotated[UploadFile | None, File()] = None):
    if principal.role not in (Role.UNDERWRITER, Role.ADMIN):
        raise Forbidden("only underwriters load products")
    data = definition.file.read(MAX_DEFINITION_BYTES + 1) if definition else b""
    try:
        if not data or len(data) > MAX_DEFINITION_BYTES:
            raise ValidationFailed("definition", "must be a YAML file of at most 1 MB")
        defn = catalog_service.parse_definition(data.decode("utf-8", errors="replace"))
        products = catalog_service.load_definition(db, defn=defn, actor=principal)
    except (ValidationFailed, Conflict) as exc:
        db.rollback()
        problems = [f"{p.field}: {p.rule}" for p in getattr(exc, "problems", [])]
        return _page(request, db, problems=problems or [exc.message],
                     status_code=exc.status_code)
    return redirect(f"/staff/catalog?loaded={len(products)}")
