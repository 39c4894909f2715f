"""Ledger and expenses for finance (/staff/finance): record a quarter's necessary costs,
see them per project and quarter, and read a project's trial balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.settlement import service as settlement_service
from mutua.settlement.models import Expense
from mutua.web.pages.staff_finance import account_names
from tests import factories as f
from tests.integration.settlement.conftest import AFTER_Q1, CODE, build_pool
from tests.integration.web.conftest import post_form, sign_in

PAGE = "/staff/finance"


@pytest.fixture
def finance(client, staff_user):
    sign_in(client, staff_user(Role.FINANCE))
    return client


def _expenses(db) -> int:
    db.rollback()  # read what the request committed, not this session's snapshot
    return db.scalar(select(func.count(Expense.id))) or 0


def _record(client, **fields):
    data = {"project": CODE, "quarter": "2025Q2", "amount": "1200.50", "memo": "会员服务热线"}
    data.update(fields)
    return post_form(client, f"{PAGE}/expenses", data, from_page=PAGE)


def test_finance_records_a_cost_and_sees_it_per_quarter(db, finance):
    build_pool(db)
    page = finance.get(PAGE)
    assert page.status_code == 200
    assert "账务与费用" in page.text or "费用" in page.text
    assert "试算平衡" in page.text

    done = _record(finance)
    assert done.status_code == 303 and "done=expense" in done.headers["location"]
    _record(finance, amount="99.50", memo="印刷")
    rows, total = settlement_service.expense_totals(db, project_code=CODE)
    assert total == 1 and rows[0]["quarter"] == "2025Q2"
    assert rows[0]["count"] == 2 and rows[0]["total"] == Decimal("1300.00")
    assert rows[0]["closed"] is False

    after = finance.get(done.headers["location"])
    assert "会员服务热线" in after.text and "¥1,300.00" in after.text
    assert "已记录" in after.text or 'role="status"' in after.text


@pytest.mark.parametrize("fields,words", [
    ({"amount": "-5"}, "不得为负"),
    ({"amount": "abc"}, "1234.50"),
    ({"amount": "12.345"}, "分"),
    ({"memo": "   "}, "1 至 200"),
    ({"project": "NO-SUCH"}, "项目"),
    ({"quarter": "2025-2"}, "2026Q4"),
])
def test_refused_costs_are_named_and_nothing_is_stored(db, finance, fields, words):
    build_pool(db)
    refused = _record(finance, **fields)
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text and words in refused.text
    # the entered values are kept (a project is chosen from a list: only known ones show)
    for name, value in fields.items():
        if value.strip() and name != "project":
            assert f'value="{value}"' in refused.text
    assert _expenses(db) == 0


def test_a_closed_quarter_takes_no_more_costs(db, finance):
    build_pool(db)
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    db.commit()
    refused = _record(finance, quarter="2025Q1")
    assert refused.status_code == 422 and "已结算" in refused.text
    assert _expenses(db) == 0


def test_every_problem_is_named_at_once(db, finance):
    build_pool(db)
    refused = _record(finance, amount="1.001", memo="", quarter="Q9")
    assert refused.status_code == 422
    assert refused.text.count("<li>") >= 3
    assert _expenses(db) == 0


def test_the_trial_balance_sums_to_zero_with_debits_and_credits(db, finance):
    build_pool(db)
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    db.commit()
    page = finance.get(f"{PAGE}?project={CODE}")
    assert page.status_code == 200
    assert 'id="tb-check"' in page.text and "借贷相等" in page.text
    assert "银行存款" in page.text and 'id="tb-total">¥0.00<' in page.text
    debits = page.text.split('id="tb-debits">')[1].split("<")[0]
    credits = page.text.split('id="tb-credits">')[1].split("<")[0]
    assert debits == credits and debits != "¥0.00"

    before = finance.get(f"{PAGE}?project={CODE}&as_of=2024-12-31")
    assert 'id="tb-debits">¥0.00<' in before.text  # nothing was posted before the sale

    bad = finance.get(f"{PAGE}?project={CODE}&as_of=31/12/2024")
    assert bad.status_code == 422 and 'role="alert"' in bad.text


def test_the_page_reads_in_english(db, finance):
    build_pool(db)
    post_form(finance, "/language", {"locale": "en", "next": PAGE}, from_page=PAGE)
    page = finance.get(PAGE)
    assert "Ledger and expenses" in page.text and "Trial balance" in page.text
    assert "Cash at bank" in page.text
    refused = _record(finance, amount="-1")
    assert refused.status_code == 422 and "Amount: must not be negative" in refused.text


@pytest.mark.parametrize("role", [Role.SECRETARY, Role.CLAIMS, Role.ACTUARY])
def test_other_roles_are_refused(client, staff_user, role):
    sign_in(client, staff_user(role))
    assert client.get(PAGE).status_code == 403
    assert post_form(client, f"{PAGE}/expenses", {"project": CODE}, from_page="/").status_code \
        == 403


def test_signed_out_goes_to_sign_in(client):
    page = client.get(PAGE, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/signin")


def test_a_member_is_refused(client, db):
    f.accident_project(db)
    m = f.member(db, login=True)
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    assert client.get(PAGE).status_code == 403


def test_account_names_split_by_language():
    assert account_names("Cash at bank 银行存款") == ("银行存款", "Cash at bank")
    assert account_names("Plain") == ("Plain", "Plain")
    assert date(2026, 1, 1)  # the module imports cleanly without a database
