"""Staff member pages: register one member, import a group file, the refused rows."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from mutua.audit.models import AuditEvent
from mutua.auth.models import User
from mutua.auth.roles import Role
from mutua.dates import today as shanghai_today
from mutua.members.idcard import make_id_number
from mutua.members.models import Member
from mutua.policies.models import Policy
from tests import factories as f
from tests.integration.web.conftest import csrf_of, post_form, sign_in
from tests.jobs import report_of_job

TODAY = shanghai_today()
HEADER = "name,id_number,phone,occupation_code,city"


def good_id(seq: int, birth: date = date(1990, 5, 17)) -> str:
    return make_id_number("440305", birth, seq)


def bad_check_character(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def as_role(client, staff_user):
    def signed_in(role: Role):
        sign_in(client, staff_user(role))
        return client

    return signed_in


def to_english(client, page: str):
    post_form(client, "/language", {"locale": "en", "next": page}, from_page=page)


# --- registering one member ---------------------------------------------------------------

FORM = {"name": "李雷", "phone": "138 0013 8000", "occupation_code": "E0501", "city": "深圳"}


def test_an_underwriter_registers_a_member_and_lands_on_their_page(db, as_role):
    client = as_role(Role.UNDERWRITER)
    page = client.get("/staff/members/new")
    assert page.status_code == 200
    assert 'name="id_number"' in page.text and "快递员" in page.text  # occupation E0501
    assert re.search(r'value="E0501"[^>]*>[^<]*5', page.text)  # its class is shown
    number = good_id(11)
    done = post_form(client, "/staff/members/new", {**FORM, "id_number": number,
                                                    "password": "first-pass-1"})
    assert done.status_code == 303
    member = db.scalar(select(Member).where(Member.id_number == number))
    assert done.headers["location"] == f"/staff/members/{member.id}?done=registered"
    assert member.phone == "+8613800138000" and member.occupation_class == 5
    assert member.birth_date == date(1990, 5, 17)
    landed = client.get(done.headers["location"])
    assert landed.status_code == 200 and member.member_number in landed.text
    assert 'class="notice"' in landed.text and "会员已登记" in landed.text
    assert db.scalar(select(User).where(User.member_id == member.id)) is not None
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "member.register",
                                              AuditEvent.entity_id == str(member.id)))


def test_the_form_reads_in_english(as_role):
    client = as_role(Role.UNDERWRITER)
    to_english(client, "/staff/members/new")
    page = client.get("/staff/members/new")
    assert "Register a member" in page.text and "Courier" in page.text
    assert "Class 5" in page.text


@pytest.mark.parametrize("changes,field_text", [
    ({"id_number": bad_check_character(good_id(13))}, "ISO 7064"),
    ({"id_number": make_id_number("440305", TODAY + timedelta(days=400), 13)}, "birth date"),
    ({"id_number": "440305" + "19900230" + "0135"}, "19900230"),
    ({"phone": "12345"}, "12345"),
])
def test_refused_input_is_listed_on_the_form_and_nothing_is_stored(db, as_role, changes,
                                                                     field_text):
    client = as_role(Role.UNDERWRITER)
    to_english(client, "/staff/members/new")
    data = {**FORM, "id_number": good_id(13), **changes}
    refused = post_form(client, "/staff/members/new", data)
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text and field_text in refused.text
    assert 'value="李雷"' in refused.text  # what was entered is kept
    assert count(db, Member) == 0


def test_every_problem_is_listed_at_once_in_chinese(db, as_role):
    client = as_role(Role.UNDERWRITER)
    number = bad_check_character(good_id(15))
    refused = post_form(client, "/staff/members/new",
                        {**FORM, "id_number": number, "phone": "12345", "occupation_code": ""})
    assert refused.status_code == 422
    alert = refused.text.split('role="alert"', 1)[1].split("</div>", 1)[0]
    assert alert.count("<li>") == 3 and "请检查" in refused.text
    assert count(db, Member) == 0


def test_fields_left_empty_are_told_as_required(db, as_role):
    client = as_role(Role.UNDERWRITER)
    to_english(client, "/staff/members/new")
    refused = post_form(client, "/staff/members/new", {**FORM, "id_number": "", "phone": " "})
    assert refused.status_code == 422
    assert "ID card number: is required" in refused.text and "Phone: is required" in refused.text
    assert count(db, Member) == 0


def test_a_duplicate_id_number_is_refused_with_a_link_to_the_member(db, as_role):
    existing = f.member(db)
    db.commit()
    client = as_role(Role.UNDERWRITER)
    to_english(client, "/staff/members/new")
    refused = post_form(client, "/staff/members/new", {**FORM, "id_number": existing.id_number})
    assert refused.status_code == 422
    assert "is already registered" in refused.text
    assert f'href="/staff/members/{existing.id}"' in refused.text
    assert count(db, Member) == 1


def test_only_the_roles_that_may_write_members_register(db, client, staff_user):
    f.member(db, name="王小明")
    db.commit()
    signed_out = client.get("/staff/members/new", follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/signin")
    sign_in(client, staff_user(Role.CARE))  # may search members, may not register them
    assert client.get("/staff/members/new").status_code == 403
    assert client.get("/staff/members/import").status_code == 403
    assert client.get("/staff/members/import/template.csv").status_code == 403
    search = client.get("/staff/members?q=王小明")
    assert search.status_code == 200 and 'href="/staff/members/new"' not in search.text
    refused = post_form(client, "/staff/members/new", {**FORM, "id_number": good_id(17)},
                        from_page="/staff/members")
    assert refused.status_code == 403 and count(db, Member) == 1


def test_the_search_page_offers_registration_to_underwriters_and_admin(as_role):
    for role in (Role.UNDERWRITER, Role.ADMIN):
        page = as_role(role).get("/staff/members")
        assert 'href="/staff/members/new"' in page.text
        assert 'href="/staff/members/import"' in page.text


# --- importing a group file -------------------------------------------------------------

@pytest.fixture
def product(db):
    product = f.accident_project(db, code="GRP", classes=(1, 2, 3, 4, 5), max_age=60)
    f.accident_project(db, code="OLD", sale_start=TODAY - timedelta(days=90),
                       sale_end=TODAY - timedelta(days=10))
    db.commit()
    return product


def group_csv(rows: list[tuple[str, str, str, str, str]]) -> bytes:
    return (HEADER + "\n" + "".join(",".join(r) + "\n" for r in rows)).encode("utf-8")


GOOD = [(f"骑手{i}", good_id(101 + 2 * i), f"1390000{i:04d}", "E0501", "深圳") for i in range(3)]
RIDER = ("外卖骑手", good_id(121), "13900009999", "F0601", "深圳")  # class 6: not covered
BAD_ID = ("张三", bad_check_character(good_id(123)), "13900008888", "E0501", "深圳")


def upload(client, data: bytes, *, filename="group.csv", offer="GRP-1|P1",
           all_or_nothing=False):
    page = client.get("/staff/members/import")
    form = {"csrf_token": csrf_of(page.text), "offer": offer}
    if all_or_nothing:
        form["all_or_nothing"] = "true"
    answer = client.post("/staff/members/import", data=form,
                         files={"file": (filename, data, "text/csv")}, follow_redirects=False)
    return report_of_job(client, answer, "/staff/members/import")


def test_the_import_page_offers_only_open_products_and_a_template(as_role, product):
    client = as_role(Role.UNDERWRITER)
    page = client.get("/staff/members/import")
    assert page.status_code == 200
    assert 'value="GRP-1|P1"' in page.text and "OLD-1" not in page.text
    assert 'enctype="multipart/form-data"' in page.text
    template = client.get("/staff/members/import/template.csv")
    assert template.status_code == 200 and "attachment" in template.headers["content-disposition"]
    assert template.content.decode("utf-8-sig").strip() == HEADER
    to_english(client, "/staff/members/import")
    assert "Import a group file" in client.get("/staff/members/import").text


def test_valid_rows_are_enrolled_and_refused_rows_listed_and_downloadable(db, as_role, product):
    client = as_role(Role.UNDERWRITER)
    to_english(client, "/staff/members/import")
    answer = upload(client, group_csv([*GOOD, RIDER, BAD_ID]))
    assert answer.status_code == 200
    text = answer.text
    assert re.search(r"Rows read</dt><dd>5<", text) and re.search(r"Enrolled</dt><dd>3<", text)
    assert re.search(r"New members registered</dt><dd>3<", text)
    assert re.search(r"Refused rows</dt><dd>2<", text)
    assert "class 6 is not covered by GRP-1" in text and "ISO 7064" in text
    assert re.search(r'data-label="Row">5<', text) and re.search(r'data-label="Row">6<', text)
    assert count(db, Policy) == 3 and count(db, Member) == 3
    link = re.search(r'href="(/staff/members/import/refused/[^"]+\.csv)"', text).group(1)
    download = client.get(link)
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["Row", "name", "id_number", "phone", "occupation_code", "city"]
    assert [r[0] for r in rows[1:]] == ["5", "6"]
    assert rows[2][2] == BAD_ID[1] and "ISO 7064" in rows[2][6]


def test_the_refused_rows_are_for_the_one_who_imported(db, client, staff_user, product):
    sign_in(client, staff_user(Role.UNDERWRITER))
    answer = upload(client, group_csv([*GOOD, BAD_ID]))
    link = re.search(r'href="(/staff/members/import/refused/[^"]+\.csv)"', answer.text).group(1)
    post_form(client, "/signout", {}, from_page="/staff/members")
    sign_in(client, staff_user(Role.UNDERWRITER, "another-underwriter"))
    assert client.get(link).status_code == 404


def test_all_or_nothing_stores_nothing_when_a_row_is_refused(db, as_role, product):
    client = as_role(Role.UNDERWRITER)
    answer = upload(client, group_csv([*GOOD, BAD_ID]), all_or_nothing=True)
    assert answer.status_code == 200
    assert "没有保存" in answer.text or "未保存" in answer.text
    assert re.search(r'data-label="[^"]+">5<', answer.text)
    assert count(db, Member) == 0 and count(db, Policy) == 0
    nobody = upload(client, group_csv([BAD_ID]))
    assert nobody.status_code == 200 and "没有一行投保" in nobody.text and count(db, Member) == 0
    fine = upload(client, group_csv(GOOD), all_or_nothing=True)
    assert fine.status_code == 200 and count(db, Policy) == 3


def test_an_xlsx_group_file_is_read(db, as_role, product):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(HEADER.split(","))
    for row in GOOD:
        wb.active.append([row[0], row[1], int(row[2]), row[3], row[4]])
    out = io.BytesIO()
    wb.save(out)
    answer = upload(as_role(Role.UNDERWRITER), out.getvalue(), filename="group.xlsx")
    assert answer.status_code == 200 and count(db, Policy) == 3


@pytest.mark.parametrize("data,filename,words", [
    (b"\xd0\xcf\x11\xe0" + b"\x00" * 64, "group.xls", ".xls"),
    (b"name,phone\nA,1\n", "group.csv", "id_number"),
    (b"", "group.csv", ""),
    (HEADER.encode() + b"\n", "group.csv", ""),
    (b"PK\x03\x04 not really a workbook", "group.xlsx", ".xlsx"),
])
def test_a_file_that_cannot_be_read_is_refused_whole(db, as_role, product, data, filename,
                                                     words):
    client = as_role(Role.UNDERWRITER)
    answer = upload(client, data, filename=filename)
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text and words in answer.text
    assert count(db, Member) == 0 and count(db, Policy) == 0


def test_a_file_over_the_size_limit_is_refused(db, app, as_role, product):
    app.state.settings.import_max_bytes = 100
    client = as_role(Role.UNDERWRITER)
    to_english(client, "/staff/members/import")
    answer = upload(client, group_csv(GOOD))
    assert answer.status_code == 422 and "larger than the limit of 100 bytes" in answer.text
    assert count(db, Member) == 0


def test_a_product_not_on_sale_is_refused(db, as_role, product):
    answer = upload(as_role(Role.UNDERWRITER), group_csv(GOOD), offer="OLD-1|P1")
    assert answer.status_code == 422 and count(db, Policy) == 0


def test_signed_out_and_other_roles_cannot_import(db, client, staff_user, product):
    signed_out = client.get("/staff/members/import", follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/signin")
    sign_in(client, staff_user(Role.CLAIMS))
    page = client.get("/staff/members")
    answer = client.post("/staff/members/import",
                         data={"csrf_token": csrf_of(page.text), "offer": "GRP-1|P1"},
                         files={"file": ("group.csv", group_csv(GOOD), "text/csv")})
    assert answer.status_code == 403 and count(db, Member) == 0
