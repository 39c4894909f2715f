"""Bulk enrolment from CSV and Excel through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import func, select

from mutua.audit.models import AuditEvent
from mutua.auth.security import SYSTEM
from mutua.dates import today as shanghai_today
from mutua.errors import ValidationFailed
from mutua.ledger import service as ledger_service
from mutua.ledger.models import Entry
from mutua.members.idcard import make_id_number
from mutua.members.models import Member
from mutua.policies import importer
from mutua.policies.models import Policy, PremiumPayment
from mutua.settings import Settings
from tests import factories as f

HEADER = ["name", "id_number", "phone", "occupation_code", "city"]
TODAY = shanghai_today()


def crowd_rows(n: int, seed: int = 3) -> list[dict]:
    from mutua.demo.people import SHENZHEN, people

    crowd = people(np.random.default_rng(seed), n, ages=(20, 50), on=TODAY,
                   occupations={"E0501": 1, "A0103": 1}, areas=SHENZHEN, cities=("深圳",))
    return crowd.rows()


def to_csv(rows: list[dict], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue().encode("utf-8")


def to_xlsx(rows: list[dict], *, phone_as_number: bool = False) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        cells = [r[h] for h in HEADER]
        if phone_as_number:
            cells[2] = int(cells[2])  # Excel keeps a typed phone as a number
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def product(db):
    product = f.accident_project(db, code="GRP", classes=(1, 2, 3, 4, 5), max_age=60,
                                 today=TODAY)
    db.commit()
    return product


def run(db, data: bytes, *, filename="group.csv", all_or_nothing=False, settings=None):
    return importer.import_members(db, data=data, filename=filename, product_code="GRP-1",
                                   period_code="P1", actor=SYSTEM, all_or_nothing=all_or_nothing,
                                   on=TODAY, settings=settings or Settings())


def test_valid_rows_are_registered_and_enrolled_with_premiums_in_the_books(db, product):
    rows = crowd_rows(30)
    report = run(db, to_csv(rows))
    db.commit()
    assert (report.rows, report.enrolled, report.registered, report.reused) == (30, 30, 30, 0)
    assert report.bad_rows == {} and report.stored and report.rows_per_second > 0
    assert report.premium_total == Decimal("36.50") * 30
    assert count(db, Member) == 30 and count(db, Policy) == 30 and count(db, PremiumPayment) == 30
    (books,) = ledger_service.trial_balance(db, project_code="GRP")
    assert books.total == 0
    cash = next(a.balance for a in books.accounts if a.code == "cash")
    assert cash == Decimal("36.50") * 30


def test_each_bad_row_is_listed_by_row_number_field_and_rule(db, product):
    rows = crowd_rows(8)
    rows[0]["phone"] = "12345"                                    # file row 2
    rows[1]["id_number"] = rows[1]["id_number"][:17] + (          # file row 3
        "0" if rows[1]["id_number"][17] != "0" else "1")
    rows[2]["occupation_code"] = "ZZ999"                          # file row 4
    rows[3]["id_number"] = make_id_number("440305", TODAY - timedelta(days=365 * 70), 11)
    rows[4]["occupation_code"] = "F0601"                          # class 6: excluded
    rows[5]["name"] = ""                                          # file row 7
    rows.append(dict(rows[6]))                                    # file row 10: duplicate
    report = run(db, to_csv(rows))
    bad = {row: {p.field for p in problems} for row, problems in report.bad_rows.items()}
    assert bad == {2: {"phone"}, 3: {"id_number"}, 4: {"occupation_code"}, 5: {"age"},
                   6: {"occupation_class"}, 7: {"name"}, 10: {"policy"}}
    assert "MOD 11-2" in report.bad_rows[3][0].rule
    assert report.enrolled == 2  # rows 8 and 9
    db.commit()
    assert count(db, Policy) == 2
    # A row that cannot be enrolled leaves no member behind.
    assert count(db, Member) == 2


def test_members_already_registered_are_reused(db, product):
    existing = f.member(db, birth=date(1990, 5, 17))
    db.commit()
    rows = crowd_rows(5)
    rows[2]["id_number"] = existing.id_number
    report = run(db, to_csv(rows))
    db.commit()
    assert (report.registered, report.reused, report.enrolled) == (4, 1, 5)
    assert count(db, Member) == 5
    assert db.scalar(select(Policy.member_id).where(Policy.member_id == existing.id)) is not None


def test_a_member_who_already_holds_the_product_is_refused_on_their_row_and_the_rest_enrol(
        db, product):
    """People new to the mutual are enrolled straight from their checked rows; people
    registered before are read back and checked against what they hold."""
    holder, closed = f.member(db, birth=date(1990, 5, 17)), f.member(db, birth=date(1991, 6, 1))
    f.policy(db, member=holder, product_code="GRP-1", on=TODAY)
    closed.status = "closed"
    db.commit()
    rows = crowd_rows(6)
    rows[1]["id_number"], rows[4]["id_number"] = holder.id_number, closed.id_number
    report = run(db, to_csv(rows))
    db.commit()
    assert {row: [p.field for p in ps] for row, ps in report.bad_rows.items()} == {
        3: ["policy"], 6: ["member"]}
    assert (report.enrolled, report.registered, report.reused) == (4, 4, 2)
    assert report.premium_total == Decimal("36.50") * 4
    assert count(db, Policy) == 5 and count(db, PremiumPayment) == 5


def test_a_kidney_product_is_refused_before_anyone_is_registered(db, product):
    product.line = "ckd"
    db.commit()
    with pytest.raises(ValidationFailed) as refused:
        run(db, to_csv(crowd_rows(3)))
    assert refused.value.problems[0].field == "product_code"
    db.rollback()
    assert count(db, Member) == 0


def test_all_or_nothing_stores_nothing_when_one_row_is_bad(db, product):
    rows = crowd_rows(10)
    rows[7]["phone"] = "not a phone"
    with pytest.raises(importer.ImportRefused) as caught:
        run(db, to_csv(rows), all_or_nothing=True)
    db.rollback()
    report = caught.value.report
    assert list(report.bad_rows) == [9] and report.enrolled == 0 and not report.stored
    assert caught.value.problems[0].field == "rows[9].phone"
    assert count(db, Member) == 0 and count(db, Policy) == 0


def test_all_or_nothing_refuses_on_an_eligibility_problem_too(db, product):
    rows = crowd_rows(4)
    rows[1]["occupation_code"] = "F0601"  # valid member, but class 6 is excluded
    with pytest.raises(importer.ImportRefused) as caught:
        run(db, to_csv(rows), all_or_nothing=True)
    db.rollback()
    assert {p.field for p in caught.value.report.bad_rows[3]} == {"occupation_class"}
    assert count(db, Member) == 0 and count(db, Policy) == 0


def _without_clock(report: importer.ImportReport) -> dict:
    return {k: v for k, v in report.to_dict().items() if k not in ("seconds", "rows_per_second")}


def test_a_file_read_in_chunks_imports_as_a_whole_with_duplicates_across_chunks(
        db, product, monkeypatch):
    """Chunks of 4 rows (file rows 2-5, 6-9, 10-13): the person of row 3 again on row 12 (a
    later chunk) and the person of row 11 again on row 13 (the same chunk) are refused on
    their second row; the report, the rows stored and the one ledger entry are as when the
    file is read whole."""
    rows = crowd_rows(10)
    rows += [dict(rows[1]), dict(rows[9])]  # file rows 12 and 13
    rows[0]["phone"] = "12345"  # and a bad row in the first chunk
    whole = _without_clock(run(db, to_csv(rows)))
    db.rollback()
    monkeypatch.setattr(importer, "CHUNK_ROWS", 4)
    report = run(db, to_csv(rows))
    db.commit()
    assert _without_clock(report) == whole
    bad = {row: {p.field for p in problems} for row, problems in report.bad_rows.items()}
    assert bad == {2: {"phone"}, 12: {"policy"}, 13: {"policy"}}
    assert (report.rows, report.enrolled, report.registered, report.reused) == (12, 9, 9, 0)
    assert count(db, Member) == 9 and count(db, Policy) == 9 and count(db, PremiumPayment) == 9
    batches = db.scalars(select(Entry.memo).where(Entry.kind == "premium_batch")).all()
    assert batches == ["premiums received: 9 enrolments in GRP-1 P1"]
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "policy.enrol_many")) == 1


def test_all_or_nothing_in_chunks_lists_every_bad_row_and_stores_nothing(db, product, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_ROWS", 3)
    rows = crowd_rows(7)
    rows.append(dict(rows[0]))  # file row 9, two chunks after row 2
    rows[4]["phone"] = "12345"  # file row 6
    with pytest.raises(importer.ImportRefused) as caught:
        run(db, to_csv(rows), all_or_nothing=True)
    db.rollback()
    assert sorted(caught.value.report.bad_rows) == [6, 9]
    assert count(db, Member) == 0 and count(db, Policy) == 0


def test_all_or_nothing_enrols_everyone_when_every_row_is_good(db, product):
    report = run(db, to_csv(crowd_rows(6)), all_or_nothing=True)
    db.commit()
    assert report.enrolled == 6 and count(db, Policy) == 6


def test_excel_workbook_with_numeric_phones(db, product):
    rows = crowd_rows(12)
    report = run(db, to_xlsx(rows, phone_as_number=True), filename="fleet.xlsx")
    assert report.file_kind == "xlsx" and report.enrolled == 12 and not report.bad_rows


def test_gbk_csv_from_excel_and_columns_in_any_order(db, product):
    rows = crowd_rows(3)
    header = ["city", "phone", "name", "occupation_code", "id_number"]
    data = to_csv(rows, header).decode("utf-8").encode("gb18030")
    report = run(db, data)
    assert report.enrolled == 3


def test_an_unknown_product_or_period_is_not_found(db, product):
    from mutua.errors import NotFound

    with pytest.raises(NotFound):
        importer.import_members(db, data=to_csv(crowd_rows(1)), filename="g.csv",
                                product_code="GRP-1", period_code="NOPE", actor=SYSTEM)


GOOD_HEADER = b"name,id_number,phone,occupation_code,city\n"
ROW = b"Li,11010519491231002X,13800138000,A0103,Shenzhen\n"


@pytest.mark.parametrize("data, filename, field, words", [
    (b"", "g.csv", "file", "empty"),
    (b"  \n\n", "g.csv", "file", "empty"),
    (GOOD_HEADER, "g.csv", "file", "no rows"),
    (b"name,id,phone,occupation_code,city\n" + ROW, "g.csv", "file.header", "missing id_number"),
    (b"name,id_number,phone,occupation_code,city,salary\n" + ROW, "g.csv", "file.header",
     "unknown salary"),
    (b"name,name,id_number,phone,occupation_code,city\n" + ROW, "g.csv", "file.header",
     "repeated name"),
    (bytes(range(256)) * 40, "g.csv", "file", "binary"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.xls", "file", "legacy .xls"),
    (b"PK\x03\x04 not really a zip archive", "g.xlsx", "file", "not a readable .xlsx"),
    (b"name,id_number\n", "g.xlsx", "file", "not an Excel workbook"),
    (b"\xff\xfe\xfa" * 10 + b"\n", "g.csv", "file", "neither UTF-8 nor GB18030"),
])
def test_malformed_files_are_refused_whole(db, product, data, filename, field, words):
    with pytest.raises(ValidationFailed) as caught:
        run(db, data, filename=filename)
    problem = caught.value.problems[0]
    assert problem.field == field and words in problem.rule
    db.rollback()
    assert count(db, Member) == 0


def test_a_zip_that_is_not_a_workbook_is_refused(db, product):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    with pytest.raises(ValidationFailed) as caught:
        run(db, buf.getvalue(), filename="g.xlsx")
    assert "not a readable .xlsx" in caught.value.problems[0].rule


def test_oversized_files_are_refused_by_bytes_and_by_rows(db, product):
    data = to_csv(crowd_rows(20))
    with pytest.raises(ValidationFailed, match="larger than the limit of 100 bytes"):
        run(db, data, settings=Settings(import_max_bytes=100))
    with pytest.raises(ValidationFailed, match="more than 10 rows"):
        run(db, data, settings=Settings(import_max_rows=10))
    db.rollback()
    assert count(db, Member) == 0
