"""The catalogue as data: load definitions, list what is on sale, version coefficient tables."""

from __future__ import annotations

from collections import namedtuple
from datetime import date
from decimal import Decimal

from pydantic import ValidationError
from sqlalchemy import String, bindparam, cast, func, insert, select
from sqlalchemy.orm import Session, selectinload

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.bounds import load_yaml
from mutua.catalog import domain
from mutua.catalog.models import (
    Benefit,
    CoefficientCell,
    CoefficientTable,
    Product,
    Project,
    SalePeriod,
)
from mutua.catalog.mutual import is_pool, mutual_project_id
from mutua.catalog.schemas import CatalogDef, PeriodDef, ProductDef
from mutua.dates import today as shanghai_today
from mutua.errors import Conflict, NotFound, Problem, ValidationFailed, field_path
from mutua.hooks import Hook

# A new project opens its books (ledger.service.open_books, joined in mutua/wiring.py).
project_created = Hook("a project is created")


def parse_definition(text: str) -> CatalogDef:
    """YAML (or JSON) text -> a checked definition, or ValidationFailed naming each problem."""
    return check_definition(load_yaml(text, field="file"))  # depth and aliases bounded


def check_definition(raw: object) -> CatalogDef:
    if not isinstance(raw, dict):
        raise ValidationFailed("file", "must be a mapping with 'project' and 'products'")
    try:
        defn = CatalogDef.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed([Problem.from_pydantic(field_path(e["loc"]), e)
                                for e in exc.errors()]) from None
    problems = domain.check_catalog(defn)
    if problems:
        raise ValidationFailed(problems)
    return defn


def load_definition(db: Session, *, defn: CatalogDef, actor: Principal) -> list[Product]:
    """Create the project (or reuse it by code) and its products, tables and periods."""
    mutual_project_id(db)  # a database with a catalogue has the mutual-wide project too
    project = db.scalar(select(Project).where(Project.code == defn.project.code))
    if project is None:
        project = Project(**defn.project.model_dump())
        db.add(project)
        db.flush()
        project_created(db, project_id=project.id)
        audit.record(db, actor=actor, action="project.create", entity="project",
                     entity_id=project.id, project_id=project.id)
    taken = set(db.scalars(select(Product.code).where(
        Product.code.in_([p.code for p in defn.products]))))
    if taken:
        raise Conflict("products already exist: %(codes)s", codes=", ".join(sorted(taken)))
    return [add_product(db, project=project, pdef=p, actor=actor) for p in defn.products]


def add_product(db: Session, *, project: Project, pdef: ProductDef, actor: Principal) -> Product:
    fields = pdef.model_dump(exclude={"benefits", "coefficients", "periods"})
    fields["reporting_pattern"] = [str(s) for s in pdef.reporting_pattern]  # JSON: no Decimal
    product = Product(project_id=project.id, **fields)
    db.add(product)
    db.flush()
    for b in pdef.benefits:
        db.add(Benefit(product_id=product.id, **b.model_dump()))
    table = _insert_table(db, product_id=product.id, cells=domain.cells_of(pdef), source="catalogue")
    for per in pdef.periods:
        db.add(SalePeriod(product_id=product.id, project_id=product.project_id,
                          coefficient_table_id=table.id, **per.model_dump()))
    db.flush()
    audit.record(db, actor=actor, action="product.create", entity="product",
                 entity_id=product.id, project_id=project.id, detail={"code": product.code})
    return product


def _insert_table(db: Session, *, product_id: int, cells: list[domain.Cell],
                  source: str) -> CoefficientTable:
    version = (db.scalar(select(func.max(CoefficientTable.version))
                         .where(CoefficientTable.product_id == product_id)) or 0) + 1
    table = CoefficientTable(product_id=product_id, version=version, source=source)
    db.add(table)
    db.flush()
    db.execute(insert(CoefficientCell), [
        {"table_id": table.id, "age_min": c.age_min, "age_max": c.age_max,
         "occupation_class": c.occupation_class, "coefficient": c.coefficient} for c in cells
    ])
    return table


def create_coefficient_table(db: Session, *, product_id: int, cells: list[domain.Cell],
                             source: str, actor: Principal) -> CoefficientTable:
    """A new version of a product's table; every (age band, allowed class) cell must be given."""
    product = db.get(Product, product_id)
    if product is None:
        raise NotFound("product %(product_id)s not found", product_id=product_id)
    problems = domain.check_cells(cells, min_age=product.min_age, max_age=product.max_age,
                                  classes=product.allowed_classes)
    if problems:
        raise ValidationFailed(problems)
    table = _insert_table(db, product_id=product_id, cells=cells, source=source)
    audit.record(db, actor=actor, action="coefficients.create", entity="coefficient_table",
                 entity_id=table.id, project_id=product.project_id,
                 detail={"product": product.code, "version": table.version, "source": source})
    return table


def table_cells(db: Session, *, table_id: int) -> list[domain.Cell]:
    return [domain.Cell(*r) for r in db.connection().execute(_CELLS, {"table_id": table_id})]


# PostgreSQL: a sale period's cells as one JSON array, for a read that selects sale_periods
# and wants its cells in the same row (an enrolment's first read); the coefficient as text,
# so that it reads back exact (cells_of_json).
CELLS_OF_PERIOD = (
    select(func.json_agg(func.json_build_array(
        CoefficientCell.age_min, CoefficientCell.age_max, CoefficientCell.occupation_class,
        cast(CoefficientCell.coefficient, String))))
    .where(CoefficientCell.table_id == SalePeriod.coefficient_table_id)
    .scalar_subquery())


def cells_of_json(cells: list | None) -> list[domain.Cell]:
    """The cells as :data:`CELLS_OF_PERIOD` reads them (None: the table has none)."""
    return [domain.Cell(a, b, c, Decimal(k)) for a, b, c, k in cells or ()]


# Read by every enrolment: built once (prebuilt statements keep their cache key).
_CELLS = (select(CoefficientCell.age_min, CoefficientCell.age_max,
                 CoefficientCell.occupation_class, CoefficientCell.coefficient)
          .where(CoefficientCell.table_id == bindparam("table_id"))
          .order_by(CoefficientCell.age_min, CoefficientCell.occupation_class))


def create_period(db: Session, *, product_code: str, period: PeriodDef, actor: Principal,
                  coefficient_table_id: int | None = None) -> SalePeriod:
    """Open a new sale period (期); it uses the product's newest table unless one is named."""
    product = get_product(db, code=product_code)
    problems = domain.check_period_dates(period.sale_start, period.sale_end, period.cover_start,
                                         "period")
    if problems:
        raise ValidationFailed(problems)
    if db.scalar(select(SalePeriod.id).where(SalePeriod.product_id == product.id,
                                             SalePeriod.code == period.code)):
        raise Conflict("period %(code)s already exists for %(product_code)s",
                       code=period.code, product_code=product_code)
    table_id = coefficient_table_id or db.scalar(
        select(CoefficientTable.id).where(CoefficientTable.product_id == product.id)
        .order_by(CoefficientTable.version.desc()).limit(1))
    row = SalePeriod(product_id=product.id, project_id=product.project_id,
                     coefficient_table_id=table_id, **period.model_dump())
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="period.create", entity="sale_period", entity_id=row.id,
                 project_id=product.project_id, detail={"code": period.code})
    return row


def list_tables(db: Session, *, product_id: int) -> list[CoefficientTable]:
    """The product's coefficient tables, newest version first."""
    return list(db.scalars(select(CoefficientTable)
                           .where(CoefficientTable.product_id == product_id)
                           .order_by(CoefficientTable.version.desc())))


def _joining_window(sale_start: date, sale_end: date, cover_start: date) -> tuple[date, date]:
    """The days on which a joiner's cover begins in a period: its cover start, then (for
    those who join once cover has started) each day to the end of the sale."""
    return cover_start, max(sale_end, cover_start)


def period_problems(db: Session, *, product: Product, period: PeriodDef,
                    coefficient_table_id: int | None) -> list[Problem]:
    """What keeps a new period from opening as asked, for a form to show all at once.

    Beyond the dates' own order: the code is new for the product, the table is one of the
    product's own, and no other period's joining window shares a day with this one, so a
    joiner's cohort (期) is never in doubt. Presale windows may overlap (the next period
    goes on sale before the current one ends)::

        Q1: sale 12-18..03-31, cover 01-01 -> joins 01-01..03-31
        Q2: sale 03-18..06-30, cover 04-01 -> joins 04-01..06-30   (no overlap)
    """
    out = domain.check_period_dates(period.sale_start, period.sale_end, period.cover_start,
                                    "period")
    if any(p.code == period.code for p in product.periods):
        out.append(Problem("period.code", "is already used by another period of this product"))
    if coefficient_table_id is not None and coefficient_table_id not in {
            t.id for t in list_tables(db, product_id=product.id)}:
        out.append(Problem("period.coefficient_table_id", "is not a table of this product"))
    if not out:
        lo, hi = _joining_window(period.sale_start, period.sale_end, period.cover_start)
        for other in product.periods:
            o_lo, o_hi = _joining_window(other.sale_start, other.sale_end, other.cover_start)
            if lo <= o_hi and o_lo <= hi:
                out.append(Problem("period.sale_end",
                                   "overlaps the joining days of another period"))
                break
    return out


def open_period(db: Session, *, product_code: str, period: PeriodDef, actor: Principal,
                coefficient_table_id: int | None = None) -> SalePeriod:
    """Open a sale period after :func:`period_problems` finds nothing wrong (a 422 naming
    every problem otherwise; nothing is stored)."""
    product = get_product(db, code=product_code)
    problems = period_problems(db, product=product, period=period,
                               coefficient_table_id=coefficient_table_id)
    if problems:
        raise ValidationFailed(problems)
    return create_period(db, product_code=product_code, period=period, actor=actor,
                         coefficient_table_id=coefficient_table_id)


def set_period_table(db: Session, *, period_id: int, table_id: int, actor: Principal,
                     on: date | None = None) -> SalePeriod:
    """Point a period that is not yet on sale at another table of the same product."""
    period = db.get(SalePeriod, period_id)
    table = db.get(CoefficientTable, table_id)
    if period is None or table is None or table.product_id != period.product_id:
        raise NotFound("no such period, or the table belongs to another product")
    if (on or shanghai_today()) >= period.sale_start:
        raise Conflict("period %(code)s is already on sale; its table cannot change", code=period.code)
    period.coefficient_table_id = table_id
    audit.record(db, actor=actor, action="period.set_table", entity="sale_period",
                 entity_id=period.id, project_id=period.product.project_id,
                 detail={"table_id": table_id})
    return period


def next_unsold_period(db: Session, *, product_id: int, on: date | None = None) -> SalePeriod | None:
    """The earliest period whose sale has not started: where a new table can take effect."""
    return db.scalar(select(SalePeriod).where(SalePeriod.product_id == product_id,
                                              SalePeriod.sale_start > (on or shanghai_today()))
                     .order_by(SalePeriod.sale_start).limit(1))


def list_projects(db: Session) -> list[Project]:
    """The insurance pools (the mutual-wide project is none: catalog/mutual.py)."""
    return list(db.scalars(select(Project).where(is_pool())
                           .options(selectinload(Project.products)).order_by(Project.code)))


def project_started_on(db: Session, *, project_id: int) -> date | None:
    """The first day of cover any of the project's sale periods gives (None: no period yet)."""
    return db.scalar(select(func.min(SalePeriod.cover_start))
                     .join(Product, Product.id == SalePeriod.product_id)
                     .where(Product.project_id == project_id))


def get_project(db: Session, *, code: str) -> Project:
    project = db.scalar(select(Project).where(Project.code == code, is_pool()))
    if project is None:
        raise NotFound("unknown project %(code)s", code=f"{code!r}")
    return project


def get_product(db: Session, *, code: str) -> Product:
    product = db.scalar(select(Product).where(Product.code == code).options(
        selectinload(Product.benefits), selectinload(Product.periods)))
    if product is None:
        raise NotFound("unknown product %(code)s", code=f"{code!r}")
    return product


def product_and_period(db: Session, *, product_code: str, period_code: str,
                       ) -> tuple[Product, SalePeriod]:
    """A product and one of its periods in one query, for enrolling one member at a time.

    get_product also loads every benefit and period, which one enrolment does not read.
    """
    row = db.execute(PRODUCT_AND_PERIOD, {"product": product_code, "period": period_code}).first()
    if row is None:  # say which of the two is unknown: both calls raise NotFound
        get_period(db, product=get_product(db, code=product_code), code=period_code)
    return row[0], row[1]


# A product and its period by their codes, as parameters "product" and "period".
_BY_CODES = (Product.code == bindparam("product"), SalePeriod.code == bindparam("period"))
# Built once.
PRODUCT_AND_PERIOD = select(Product, SalePeriod).join(SalePeriod).where(*_BY_CODES)


# What enrolling one member reads of a product and of its period, as plain columns named
# like the mapped attributes, so a Product or SalePeriod serves wherever these do. Enrolment's
# first read took 0.29 ms of CPU with the mapped product and period, 0.18 ms with these.
ProductTerms = namedtuple("ProductTerms", "id project_id code line uniform_premium term_days"
                          " min_age max_age allowed_classes grace_days underwriting")
PeriodTerms = namedtuple("PeriodTerms",
                         "id code sale_start sale_end cover_start coefficient_table_id")
# The same read as PRODUCT_AND_PERIOD in those columns: policies.service._ENROLLING adds the
# member's columns and the answer's to it.
SALE_TERMS = (select(*(Product.__table__.c[n] for n in ProductTerms._fields),
                     *(SalePeriod.__table__.c[n].label(f"period_{n}") for n in PeriodTerms._fields))
              .join_from(Product.__table__, SalePeriod.__table__,
                         SalePeriod.product_id == Product.id)
              .where(*_BY_CODES))


def sale_terms(row) -> tuple[ProductTerms, PeriodTerms]:
    """The product's and the period's terms from a row that begins with :data:`SALE_TERMS`."""
    n, m = len(ProductTerms._fields), len(PeriodTerms._fields)
    return ProductTerms._make(row[:n]), PeriodTerms._make(row[n:n + m])


def get_period(db: Session, *, product: Product, code: str) -> SalePeriod:
    for p in product.periods:
        if p.code == code:
            return p
    raise NotFound("product %(code)s has no period %(code2)s", code=product.code, code2=f"{code!r}")


def open_for_sale(db: Session, *, on: date) -> list[tuple[Product, SalePeriod]]:
    rows = db.execute(select(Product, SalePeriod).join(SalePeriod)
                      .where(SalePeriod.sale_start <= on, SalePeriod.sale_end >= on,
                             Product.status == "active")
                      .order_by(Product.code)).all()
    return [(p, s) for p, s in rows]
