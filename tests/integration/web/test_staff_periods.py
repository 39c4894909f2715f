"""Opening a product's next sale period from its catalogue page."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from mutua.audit import service as audit_service
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.catalog import domain
from mutua.catalog import service as catalog_service
from mutua.catalog.models import SalePeriod
from tests import factories as f
from tests.integration.web.conftest import csrf_of, post_form, sign_in

PRODUCT = "TEST-ACC-1"
PAGE = f"/staff/catalog/products/{PRODUCT}"
# P1 (from the factory) is on sale 2025-01-01..2025-03-31 with cover from 2025-01-01.
NEXT = {"period_code": "2025Q2", "sale_start": "2025-03-18", "sale_end": "2025-06-30",
        "cover_start": "2025-04-01"}


@pytest.fixture
def product(db):
    item = f.accident_project(db, today=date(2025, 1, 1), sale_start=date(2025, 1, 1),
                              sale_end=date(2025, 3, 31))
    db.commit()
    return item


@pytest.fixture
def underwriter(client, staff_user):
    sign_in(client, staff_user(Role.UNDERWRITER))
    return client


def periods(db) -> int:
    return db.scalar(select(func.count(SalePeriod.id)))


def newer_table(db, product) -> int:
    """A second version of the product's table (as an enacted pricing proposal makes)."""
    first = catalog_service.list_tables(db, product_id=product.id)[0]
    cells = [domain.Cell(c.age_min, c.age_max, c.occupation_class, c.coefficient)
             for c in catalog_service.table_cells(db, table_id=first.id)]
    table = catalog_service.create_coefficient_table(db, product_id=product.id, cells=cells,
                                                     source="test", actor=SYSTEM)
    db.commit()
    return table.id


def test_an_underwriter_opens_a_period_with_a_chosen_table(db, product, underwriter):
    table_id = newer_table(db, product)
    page = underwriter.get(PAGE)
    assert page.status_code == 200 and "开设新一期" in page.text
    assert f'value="{table_id}"' in page.text
    done = underwriter.post(f"{PAGE}/periods", data={
        "csrf_token": csrf_of(page.text), **NEXT, "coefficient_table_id": str(table_id)},
        follow_redirects=False)
    assert done.status_code == 303, done.text[:2000]
    db.expire_all()
    made = catalog_service.get_period(db, product=catalog_service.get_product(db, code=PRODUCT),
                                      code="2025Q2")
    assert (made.sale_start, made.sale_end, made.cover_start) == (
        date(2025, 3, 18), date(2025, 6, 30), date(2025, 4, 1))
    assert made.coefficient_table_id == table_id
    assert any(e.action == "period.create"
               for e in audit_service.recent(db, entity="sale_period", entity_id=str(made.id)))
    shown = underwriter.get(done.headers["location"])
    assert "销售期2025Q2已开设" in shown.text and "2025Q2" in shown.text


def _table(db, product) -> str:
    return str(catalog_service.list_tables(db, product_id=product.id)[0].id)


@pytest.mark.parametrize("change,words", [
    ({"sale_end": "2025-03-01"}, "不得早于"),  # the sale ends before it starts
    ({"cover_start": "2025-03-01"}, "不得早于"),  # cover before the sale starts
    ({"sale_start": "2025-02-01", "cover_start": "2025-03-15"}, "与另一期的加入日期重叠"),
    ({"period_code": "P1"}, "已被本产品的另一期使用"),
    ({"sale_start": "not a date"}, "开售日期"),
    ({"period_code": ""}, "代码：不能为空"),
    ({"coefficient_table_id": "999999"}, "不是本产品的系数表"),
    ({"coefficient_table_id": "x"}, "请选择本产品的一张系数表"),
])
def test_a_bad_period_is_refused_and_nothing_is_stored(db, product, underwriter, change, words):
    before = periods(db)
    data = {**NEXT, "coefficient_table_id": _table(db, product), **change}
    refused = post_form(underwriter, f"{PAGE}/periods", data, from_page=PAGE)
    assert refused.status_code == 422 and words in refused.text, refused.text[-3000:]
    assert "未开设该期" in refused.text
    assert f'value="{data["period_code"]}"' in refused.text  # what was typed is kept
    db.expire_all()
    assert periods(db) == before


def test_another_products_table_is_refused(db, product, underwriter):
    other = f.accident_project(db, code="OTHER", today=date(2025, 1, 1))
    db.commit()
    foreign = _table(db, other)
    refused = post_form(underwriter, f"{PAGE}/periods",
                        {**NEXT, "coefficient_table_id": foreign}, from_page=PAGE)
    assert refused.status_code == 422 and "不是本产品的系数表" in refused.text


def test_an_actuary_may_open_a_period_too(db, product, client, staff_user):
    sign_in(client, staff_user(Role.ACTUARY))
    done = post_form(client, f"{PAGE}/periods",
                     {**NEXT, "coefficient_table_id": _table(db, product)}, from_page=PAGE)
    assert done.status_code == 303


def test_the_period_form_in_english(db, product, underwriter):
    post_form(underwriter, "/language", {"locale": "en", "next": PAGE}, from_page=PAGE)
    page = underwriter.get(PAGE)
    for words in ("Open a new sale period", "Period code", "On sale until (inclusive)",
                  "the product's uniform premium"):
        assert words in page.text, words


@pytest.mark.parametrize("role", [Role.CLAIMS, Role.FINANCE, Role.CARE])
def test_other_roles_may_not_open_a_period(db, product, client, staff_user, role):
    sign_in(client, staff_user(role))
    assert client.get(PAGE).status_code == 403
    page = client.get("/staff")
    got = client.post(f"{PAGE}/periods", data={"csrf_token": csrf_of(page.text), **NEXT,
                                                "coefficient_table_id": _table(db, product)})
    assert got.status_code == 403
    assert periods(db) == 1


def test_a_member_may_not_open_a_period(db, product, client):
    m = f.member(db, login=True)
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    page = client.get("/me")
    got = client.post(f"{PAGE}/periods", data={"csrf_token": csrf_of(page.text), **NEXT,
                                                "coefficient_table_id": _table(db, product)})
    assert got.status_code == 403 and periods(db) == 1


def test_signed_out_goes_to_sign_in(product, client):
    got = client.get(PAGE, follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/signin")


def test_an_unknown_product_is_not_found(underwriter):
    assert underwriter.get("/staff/catalog/products/NOPE").status_code == 404
