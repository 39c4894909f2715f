"""The catalogue (/staff/catalog): projects, products, benefits, sale periods and the
coefficient table in force; underwriters load a product definition (YAML) and open a
product's next sale period (期) with the coefficient table it will use."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, Request, UploadFile
from pydantic import ValidationError

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.schemas import PeriodDef
from mutua.deps import DbSession, PathText, Router, refusal_undone
from mutua.errors import Conflict, Forbidden, Problem, ValidationFailed
from mutua.web.pages.staff import open_to
from mutua.web.problems import describe_all
from mutua.web.render import N_, redirect, render

router = Router(prefix="/staff/catalog")
MAX_DEFINITION_BYTES = 1024 * 1024
# Roles that may open a sale period: as the catalogue API declares (admin always may).
PERIOD_ROLES = (Role.UNDERWRITER, Role.ACTUARY, Role.ADMIN)
# Rules of the period form and of catalog.period_problems, as msgids to translate.
RULES = (N_("choose one of the product's coefficient tables"),
         N_("is already used by another period of this product"),
         N_("is not a table of this product"),
         N_("overlaps the joining days of another period"))
PERIOD_FIELDS = ("code", "sale_start", "sale_end", "cover_start", "coefficient_table_id")


def _page(request, db, *, problems=None, status_code=200, loaded=None):
    return render(request, "staff/catalog.html", status_code=status_code,
                  projects=catalog_service.list_projects(db), problems=problems or [],
                  loaded=loaded)


@router.get("")
def catalogue(request: Request, db: DbSession, principal: Principal = open_to("catalog")):
    return _page(request, db, loaded=request.query_params.get("loaded"))


@router.get("/products/{code}")
def product(code: PathText, request: Request, db: DbSession,
            principal: Principal = open_to("catalog")):
    return _product_page(request, db, principal, code)


def _product_page(request, db, principal, code: str, *, status_code: int = 200,
                  problems=None, form=None):
    item = catalog_service.get_product(db, code=code)
    tables = {}
    for period in item.periods:
        if period.coefficient_table_id not in tables:
            tables[period.coefficient_table_id] = _grid(
                catalog_service.table_cells(db, table_id=period.coefficient_table_id))
    versions = catalog_service.list_tables(db, product_id=item.id)
    done = request.query_params.get("opened")
    return render(request, "staff/product.html", status_code=status_code, product=item,
                  tables=tables, versions=versions,
                  version_of={t.id: t.version for t in versions},
                  may_open=principal.role in PERIOD_ROLES, problems=problems or [],
                  form=form or {}, opened=done if any(p.code == done for p in item.periods)
                  else None)


@router.post("/products/{code}/periods")
def open_period(code: PathText, request: Request, db: DbSession,
                principal: Principal = open_to("catalog"),
                period_code: Annotated[str, Form(max_length=40)] = "",
                sale_start: Annotated[str, Form(max_length=40)] = "",
                sale_end: Annotated[str, Form(max_length=40)] = "",
                cover_start: Annotated[str, Form(max_length=40)] = "",
                coefficient_table_id: Annotated[str, Form(max_length=20)] = ""):
    """Open the product's next sale period with one of its coefficient tables."""
    if principal.role not in PERIOD_ROLES:
        raise Forbidden("only underwriters and actuaries open sale periods")
    form = {"code": period_code.strip(), "sale_start": sale_start.strip(),
            "sale_end": sale_end.strip(), "cover_start": cover_start.strip(),
            "coefficient_table_id": coefficient_table_id.strip()}
    try:
        with refusal_undone(db):
            period, table_id = _period_in(form)
            catalog_service.open_period(db, product_code=code, period=period, actor=principal,
                                        coefficient_table_id=table_id)
    except (ValidationFailed, Conflict) as exc:
        return _product_page(request, db, principal, code, status_code=exc.status_code,
                             problems=describe_all(exc), form=form)
    return redirect(f"/staff/catalog/products/{code}?opened={form['code']}")


def _period_in(form: dict) -> tuple[PeriodDef, int]:
    """The form as the API's period schema and a table id, or every problem at once."""
    problems = []
    try:
        table_id = int(form["coefficient_table_id"])
    except ValueError:
        table_id = None
        problems.append(Problem("coefficient_table_id", RULES[0]))
    try:
        period = PeriodDef.model_validate({k: form[k] for k in PERIOD_FIELDS[:4]})
    except ValidationError as exc:
        problems += [Problem.from_pydantic(".".join(str(x) for x in e["loc"]), e)
                     for e in exc.errors()]
    if problems:
        raise ValidationFailed(problems)
    return period, table_id


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
        with refusal_undone(db):
            if not data or len(data) > MAX_DEFINITION_BYTES:
                raise ValidationFailed("definition", "must be a YAML file of at most 1 MB")
            defn = catalog_service.parse_definition(data.decode("utf-8", errors="replace"))
            products = catalog_service.load_definition(db, defn=defn, actor=principal)
    except (ValidationFailed, Conflict) as exc:
        return _page(request, db, problems=describe_all(exc), status_code=exc.status_code)
    return redirect(f"/staff/catalog?loaded={len(products)}")
