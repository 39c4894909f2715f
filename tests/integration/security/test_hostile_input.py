"""Hostile input and deployment mistakes, each as it was seen, each with the answer it now gets.

One test (or a few) per finding of the attack on a copy of the demo: every one got a 5xx, a
dead server, a forged identity or a stored 10 MB string before, and gets a clear 4xx, a
refusal or a single winner now. docs/security.md lists them with the answer.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mutua.auth.roles import Role
from mutua.dates import today as shanghai_today
from mutua.errors import ValidationFailed
from mutua.settlement.models import Close, Expense
from tests import factories as f
from tests.integration.security.ceiling import MIB, under_ceiling


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


# --- quarters: YYYYQn of a supported year, one parser (issue 15 item 5, issue 14 item 5) ------

def test_a_close_of_quarter_9999q4_or_0000q1_is_a_422_naming_the_quarter(client, db):
    f.accident_project(db)
    headers = f.staff_headers(client, db, Role.FINANCE)
    for quarter in ("9999Q4", "0000Q1"):
        r = client.post("/api/v1/settlement/closes", headers=headers,
                        json={"project": "TEST-ACC", "quarter": quarter, "dry_run": True})
        assert r.status_code == 422, r.text
        assert r.json()["problems"][0]["field"] == "quarter"
    assert count(db, Close) == 0


def test_an_expense_for_quarter_0000q1_is_refused_not_stored_as_0q1(client, db):
    f.accident_project(db)
    headers = f.staff_headers(client, db, Role.FINANCE)
    r = client.post("/api/v1/settlement/expenses", headers=headers,
                    json={"project": "TEST-ACC", "quarter": "0000Q1", "amount": "10.00",
                          "memo": "rent"})
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["field"] == "quarter"
    assert count(db, Expense) == 0


# --- one GET that killed the server: the claims triangle (item 1) ------------------------------

def _claim(db, days_ago: int = 5):
    from mutua.auth.security import SYSTEM
    from mutua.claims import service as claims_service
    from mutua.claims.schemas import ClaimIn
    from mutua.dates import today

    product = f.accident_project(db)
    m = f.member(db)
    policy = f.policy(db, member=m, on=today() - timedelta(days=25))
    claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=policy.id, event_type="accident", event_date=today() - timedelta(days=days_ago),
        items=[{"benefit_code": "medical", "invoice_amount": "800"}]))
    db.commit()
    return product


@pytest.mark.parametrize("as_of", ["9999-12-31", "2099-06-30", "1999-12-31"])
def test_a_triangle_valued_outside_the_projects_life_is_a_422(client, db, as_of):
    _claim(db)
    headers = f.staff_headers(client, db, Role.ACTUARY)
    r = client.get("/api/v1/claims/triangle", headers=headers,
                   params={"project": "TEST-ACC", "as_of": as_of})
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["field"] in ("as_of", "query.as_of")


def test_a_triangle_wider_than_the_limit_is_refused_before_a_cell_is_built(db, monkeypatch):
    from mutua.claims import service as claims_service
    from mutua.claims import triangles
    from mutua.dates import Quarter, today

    product = _claim(db)
    monkeypatch.setattr(triangles, "MAX_QUARTERS", 3)
    built = []
    monkeypatch.setattr(triangles, "cumulate", lambda *a, **k: built.append(1) or [])
    with pytest.raises(ValidationFailed, match="would span 5 quarters; at most 3"):
        claims_service.triangle(db, project_id=product.project_id, basis="paid",
                                as_of=Quarter.of(today()).next().next().next().next().end)
    assert built == []


TRIANGLE_TO_9999 = """
from datetime import date
from mutua.db import Base, make_engine, session_factory, load_all_models
from mutua.errors import ValidationFailed
load_all_models()
engine = make_engine("sqlite:///{path}")
Base.metadata.create_all(engine)
from tests.integration.security.test_hostile_input import _claim
db = session_factory(engine)()
product = _claim(db)
from mutua.claims import service
try:
    service.triangle(db, project_id=product.project_id, basis="incurred", as_of=date(9999, 12, 31))
except ValidationFailed as exc:
    print("refused:", exc.message)
"""


def test_the_triangle_to_9999_is_refused_under_a_memory_ceiling(tmp_path):
    """Straight to the service (no API bound in the way), in a process held to 1.5 GB: the
    old code grew half a billion cells here and was killed at 24 GB."""
    run = under_ceiling(TRIANGLE_TO_9999.format(path=tmp_path / "t.db"), memory_bytes=1536 * MIB)
    assert "refused: as_of: the triangle would span" in run.stdout, run.stderr[-2000:]


# --- well-formed odd input that was a 500 (item 5) ---------------------------------------------

@pytest.mark.parametrize("content_type", ["application/json", "application/fhir+json"])
def test_a_fhir_body_of_100000_nested_brackets_is_a_422(client, db, content_type):
    headers = f.staff_headers(client, db, Role.CARE)
    r = client.post("/api/v1/health/fhir", content=b"[" * 100_000,
                    headers={**headers, "Content-Type": content_type})
    assert r.status_code == 422, r.text
    assert "nest deeper than 32 levels" in r.json()["message"]


def test_any_json_body_nested_too_deep_is_a_422_before_a_route_runs(client, db):
    headers = f.staff_headers(client, db, Role.SECRETARY)
    deep = '{"text": ' + "[" * 40 + "]" * 40 + "}"
    r = client.post("/api/v1/governance/feedback", content=deep,
                    headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["problems"] == [{"field": "body", "rule": "must not nest deeper than 32 levels",
                                     "code": "must not nest deeper than %(limit)s levels",
                                     "params": {"limit": "32"}}]


def test_a_fhir_file_nested_too_deep_is_refused_by_the_reader_too():
    from mutua.health import imports

    with pytest.raises(ValidationFailed, match="nest deeper"):
        imports.read_fhir("[" * 100_000)


def test_1e30_in_a_product_definition_is_a_422(client, db):
    headers = f.staff_headers(client, db, Role.UNDERWRITER)
    definition = f.accident_definition(sale_start=date(2026, 1, 1), sale_end=date(2026, 3, 31))
    definition["products"][0]["uniform_premium"] = "1e30"
    definition["products"][0]["benefits"][0]["base_sum_insured"] = "1e30"
    r = client.post("/api/v1/catalog/definitions", headers=headers, json=definition)
    assert r.status_code == 422, r.text
    assert {p["field"] for p in r.json()["problems"]} >= {
        "products[0].uniform_premium", "products[0].benefits[0].base_sum_insured"}


def test_a_yaml_definition_whose_aliases_expand_to_billions_is_refused_at_once():
    from mutua.catalog import service as catalog_service

    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n"
        for i in range(9))
    with pytest.raises(ValidationFailed, match="aliases expanded"):
        catalog_service.parse_definition(bomb)
    with pytest.raises(ValidationFailed, match="nest deeper"):
        catalog_service.parse_definition("[" * 100_000)


@pytest.mark.parametrize("amount", ["1e400", "99999999999999", "-1e30"])
def test_amounts_beyond_any_bound_are_a_422_naming_the_field(client, db, amount):
    f.accident_project(db)
    headers = f.staff_headers(client, db, Role.FINANCE)
    r = client.post("/api/v1/settlement/expenses", headers=headers, json={
        "project": "TEST-ACC", "quarter": "2026Q1", "amount": amount, "memo": "rent"})
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["field"] == "amount"
    assert count(db, Expense) == 0


# --- the xlsx zip bomb (item 7) ---------------------------------------------------------------

HEADER_ROW = b"".join(b'<c t="inlineStr"><is><t>' + name + b"</t></is></c>" for name in (
    b"name", b"id_number", b"phone", b"occupation_code", b"city"))


def workbook(sheet_rows: int = 0, cells: int = 0, *, far_cell: bool = False) -> bytes:
    """A workbook that is small as a file: ``sheet_rows`` rows of ``cells`` cells each (a
    zip bomb: they compress to almost nothing), or one cell at XFD1048576 (calamine lays the
    sheet out as a dense grid of 17 billion cells)."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["name", "id_number", "phone", "occupation_code", "city"])
    if far_cell:
        book.active.cell(row=1_048_576, column=16_384, value="x")
    template = io.BytesIO()
    book.save(template)
    if not sheet_rows:
        return template.getvalue()
    source, out = zipfile.ZipFile(template), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bomb:
        for name in source.namelist():
            if name != "xl/worksheets/sheet1.xml":
                bomb.writestr(name, source.read(name))
                continue
            with bomb.open(name, "w", force_zip64=True) as sheet:
                sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                            b'2006/main"><sheetData><row>' + HEADER_ROW + b"</row>")
                row = b"<row>" + b"<c><v>1</v></c>" * cells + b"</row>"
                for _ in range(sheet_rows):
                    sheet.write(row)
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def test_a_workbook_that_unpacks_beyond_the_limit_is_refused_before_it_is_unpacked():
    from mutua.policies import importer
    from mutua.settings import Settings

    data = workbook(20_000, 100)  # 30 MB of XML in a file of some 100 kB
    assert len(data) < 1024 * 1024
    with pytest.raises(ValidationFailed, match="unpacks to [0-9,]+ bytes, more than the 10,485,760"):
        importer.read_table(data, filename="group.xlsx",
                            settings=Settings(import_max_unpacked_bytes=10 * MIB))


def test_a_workbook_too_big_to_read_stops_its_reading_process_not_the_server():
    from mutua.policies import importer
    from mutua.settings import Settings

    data = workbook(60_000, 100)  # 6 million cells: more than 256 MB to lay out
    with pytest.raises(ValidationFailed, match="needs more memory or time to read"):
        importer.read_table(data, filename="group.xlsx",
                            settings=Settings(import_max_memory_bytes=256 * MIB))


def test_a_workbook_with_more_rows_than_the_limit_is_refused_before_they_are_read():
    from mutua.policies import importer
    from mutua.settings import Settings

    with pytest.raises(ValidationFailed, match="more than 1,000 rows"):
        importer.read_table(workbook(5_000, 5), filename="group.xlsx",
                            settings=Settings(import_max_rows=1_000))


GRID_BOMB_IMPORT = """
import os
from fastapi.testclient import TestClient
from mutua.db import Base, make_engine, load_all_models
from mutua.settings import Settings
from mutua.web.app import create_app
from mutua.auth.roles import Role
from tests import factories as f
from tests.integration.security.test_hostile_input import workbook
load_all_models()
url = "sqlite:///{path}"
engine = make_engine(url)
Base.metadata.create_all(engine)
from mutua.db import session_factory
db = session_factory(engine)()
f.accident_project(db)
client = TestClient(create_app(Settings(database_url=url), engine=engine))
headers = f.staff_headers(client, db, Role.UNDERWRITER)
r = client.post("/api/v1/members/import", headers=headers,
                files={{"file": ("bomb.xlsx", workbook(far_cell=True), "application/octet-stream")}},
                data={{"product": "TEST-ACC-1", "period": "P1"}})
print("answer:", r.status_code, r.json()["message"])
"""


def test_a_5_kb_workbook_of_17_billion_cells_gets_a_422_under_a_memory_ceiling(tmp_path):
    """The upload through the API, in a process held to 1.5 GB: read in the server's own
    process, the grid alone would want hundreds of gigabytes."""
    run = under_ceiling(GRID_BOMB_IMPORT.format(path=tmp_path / "bomb.db"),
                        memory_bytes=1536 * MIB)
    assert "answer: 422 file: needs more memory or time to read" in run.stdout, \
        run.stdout[-500:] + run.stderr[-2000:]


# --- unbounded text (item 8) --------------------------------------------------------------------

BIG = "长" * 100_001  # past every text limit, in a character that takes three bytes


def _count_all(db) -> dict:
    from mutua.claims.models import Claim
    from mutua.governance.models import FeedbackItem, Proposal

    return {m.__name__: count(db, m) for m in (Claim, Proposal, FeedbackItem)}


def test_long_texts_are_refused_by_the_schema_naming_the_field_and_nothing_is_stored(client, db):
    f.accident_project(db)
    member = f.member(db, login=True)
    policy = f.policy(db, member=member, on=shanghai_today() - timedelta(days=25))
    member_headers = f.member_headers(client, db, member)
    secretary = f.staff_headers(client, db, Role.SECRETARY)
    underwriter = f.staff_headers(client, db, Role.UNDERWRITER)
    before = _count_all(db)
    definition = f.accident_definition(code="LONG", sale_start=date(2026, 1, 1),
                                       sale_end=date(2026, 3, 31))
    definition["products"][0]["underwriting"] = {"notes": BIG}
    now = datetime.now(UTC)
    attempts = [
        (member_headers, "/api/v1/claims", "description", {
            "policy_id": policy.id, "event_type": "accident",
            "event_date": (shanghai_today() - timedelta(days=2)).isoformat(), "description": BIG,
            "items": [{"benefit_code": "medical", "invoice_amount": "100"}]}),
        (secretary, "/api/v1/governance/proposals", "body_zh", {
            "kind": "motion", "title_zh": "议案", "title_en": "Motion", "body_zh": BIG,
            "quorum": "0.1", "opens_at": now.isoformat(),
            "closes_at": (now + timedelta(days=7)).isoformat()}),
        (underwriter, "/api/v1/catalog/definitions", "products[0].underwriting", definition),
        (member_headers, "/api/v1/governance/feedback", "text", {"text": BIG}),
        (secretary, "/api/v1/governance/feedback", "owner", {"text": "ok", "owner": BIG}),
    ]
    for headers, path, field, body in attempts:
        r = client.post(path, headers=headers, json=body)
        assert r.status_code == 422, (path, r.text[:300])
        assert field in [p["field"] for p in r.json()["problems"]], (path, r.json()["problems"])
    assert _count_all(db) == before


def test_a_body_larger_than_the_limit_is_refused_before_it_is_read(client, db):
    headers = f.staff_headers(client, db, Role.SECRETARY)
    r = client.post("/api/v1/governance/feedback", headers=headers,
                    json={"text": "x", "owner": "y" * (11 * MIB)})
    assert r.status_code == 413
    assert r.json()["problems"][0]["field"] == "body"


def test_an_upload_sent_without_a_length_is_cut_off_at_the_limit(engine, tmp_path):
    """A chunked body has no Content-Length to refuse up front: it is counted as it comes."""
    from fastapi.testclient import TestClient

    from mutua.settings import Settings
    from mutua.web.app import create_app

    app = create_app(Settings(database_url=engine.test_url, upload_dir=tmp_path,
                              import_max_bytes=1000, upload_max_bytes=1000), engine=engine)

    def chunks():
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="g.csv"\r\n\r\n'
        for _ in range(3000):  # 3 MB against a limit of 1 kB plus the form fields' allowance
            yield b"x" * 1000
        yield b"\r\n--b--\r\n"

    with TestClient(app) as client:
        r = client.post("/api/v1/members/import", content=chunks(),
                        headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413, r.text
    assert r.json()["problems"][0]["field"] == "body"


def test_postgresql_refuses_over_long_text_at_the_column_too(db, engine):
    """SQLite stores any length under any type name: there the schema is what refuses.
    PostgreSQL refuses at the column as well, should a path ever skip the schema."""
    import sqlalchemy.exc

    from mutua.governance.models import FEEDBACK_LIMIT, FeedbackItem

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce column lengths")
    db.add(FeedbackItem(source="member", text="x" * (FEEDBACK_LIMIT + 1)))
    with pytest.raises(sqlalchemy.exc.DataError):
        db.flush()


def test_a_list_page_is_at_most_500_items(client, db):
    headers = f.staff_headers(client, db, Role.SECRETARY)
    assert client.get("/api/v1/governance/feedback", headers=headers,
                      params={"limit": 501}).status_code == 422
    assert client.get("/api/v1/governance/feedback", headers=headers,
                      params={"limit": 500}).status_code == 200


# --- headers (item 9) ----------------------------------------------------------------------------

def test_api_answers_say_nosniff_and_allow_no_content(client, db):
    headers = f.staff_headers(client, db, Role.FINANCE)
    for r in (client.get("/api/v1/auth/me", headers=headers), client.get("/api/v1/auth/me")):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in r.headers  # plain HTTP: HSTS means nothing


def test_pages_and_docs_carry_their_own_strict_policy(client):
    page = client.get("/signin")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"].split("script-src")[1] \
        .split(";")[0]
    docs = client.get("/docs")
    assert "script-src 'self' 'sha256-" in docs.headers["content-security-policy"]
    assert docs.headers["x-content-type-options"] == "nosniff"


def test_hsts_is_sent_over_tls(app):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as tls:
        r = tls.get("/healthz")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")


def test_the_depth_limit_holds_at_its_edge_whatever_the_brackets_count(client, db):
    """body_guard skips the depth scan for a body with no more brackets than the limit: a
    body 33 deep is refused, 32 deep passes, and brackets inside strings count for nothing."""
    headers = f.staff_headers(client, db, Role.SECRETARY)

    def depth_refused(text: str) -> bool:
        r = client.post("/api/v1/governance/feedback", content=text, headers={
            **headers, "Content-Type": "application/json"})
        return "must not nest deeper than 32 levels" in (
            p["rule"] for p in r.json().get("problems") or [])

    assert depth_refused('{"text": ' + "[" * 32 + "]" * 32 + "}")  # 33 levels with the object
    assert not depth_refused('{"text": ' + "[" * 31 + "]" * 31 + "}")
    assert not depth_refused('{"text": "' + "[{" * 40 + '"}')
