"""Statements and accounts pages: the pool's quarter, the member's share, the PDF."""

from __future__ import annotations

import io
from decimal import Decimal

from mutua.auth.security import SYSTEM
from mutua.settlement import service as settlement_service
from tests import factories as f
from tests.integration.settlement.conftest import AFTER_Q1, CODE, build_pool
from tests.integration.web.conftest import sign_in


def _closed_pool(client, db):
    pool = build_pool(db)
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    db.commit()
    sign_in(client, pool.members[0].member_number, f.PASSWORD)
    return pool


def test_a_member_reads_a_statement_and_downloads_its_pdf(client, db):
    _closed_pool(client, db)
    listing = client.get("/me/statements")
    assert listing.status_code == 200 and "2025Q1" in listing.text
    page = client.get(f"/me/statements/{CODE}/2025Q1")
    assert page.status_code == 200 and "项目资金池本季度的收支与留存" in page.text
    download = client.get(f"/me/statements/{CODE}/2025Q1/pdf")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    import pypdf

    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(download.content)).pages)
    text = text.replace("\x00", "").replace(" ", "")
    assert "季度账单2025Q1" in text and "测试意外项目" in text


def test_the_accounts_show_closed_quarters_and_anonymised_paid_claims(client, db):
    _closed_pool(client, db)
    page = client.get("/me/accounts")
    assert page.status_code == 200
    assert "2025Q1" in page.text and "会*" in page.text and "会员0" not in page.text


def test_another_project_statement_is_not_found(client, db):
    _closed_pool(client, db)
    assert client.get("/me/statements/NOPE/2025Q1").status_code == 404


def test_the_pdf_follows_the_chosen_language(client, db):
    from tests.integration.web.conftest import post_form

    _closed_pool(client, db)
    post_form(client, "/language", {"locale": "en", "next": "/me/statements"},
              from_page="/me/statements")
    download = client.get(f"/me/statements/{CODE}/2025Q1/pdf")
    import pypdf

    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(download.content)).pages)
    text = text.replace("\x00", "")
    assert "Quarterly statement 2025Q1" in text and "Premium earned by the pool" in text


# --- statements that add up on their face, and only for quarters with cover ---------------------

def test_the_statement_shows_every_term_of_the_result_and_the_reserve_before_and_after(client,
                                                                                         db):
    """SZ-NEWCITIZEN 2026Q1 showed the reserve after the close as the quarter's set-aside and
    left out the uplift premium earned, so its result was not premium - claims - costs."""
    _closed_pool(client, db)
    page = client.get(f"/me/statements/{CODE}/2025Q1").text
    for label in ("以结余购买的提升保额的已赚保费", "已核定未支付赔款的变动",
                  "已报案未核定赔案准备金的变动", "已发生未报案准备金的变动", "结算前准备金",
                  "从本季度结果中提取", "动用以弥补本季度亏损", "结算后准备金",
                  "结转的待弥补亏损", "用于提升保额", "结转下次结算用于提升保额"):
        assert label in page, label
    pool = settlement_service.project_statement(db, project_code=CODE, quarter="2025Q1")
    assert f"每份符合条件的保单保额提升{pool['uplift_rate_percent']}%" in page
    assert "宣布的保额提升比例" in page and "提升前保额" in page


def test_the_pdf_carries_the_same_lines(client, db):
    import pypdf

    _closed_pool(client, db)
    download = client.get(f"/me/statements/{CODE}/2025Q1/pdf")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(download.content)).pages)
    text = text.replace("\x00", "").replace(" ", "")
    for label in ("以结余购买的提升保额的已赚保费", "结算前准备金", "结转下次结算用于提升保额",
                  "为不利季度保留的平准准备金"):
        assert label in text, label


def test_a_member_who_joined_later_sees_only_the_quarters_of_their_cover(client, db):
    """A member who joined on 2026-10-01 saw three earlier quarters of zeros."""
    from datetime import date

    from mutua.catalog import service as catalog_service
    from mutua.catalog.schemas import PeriodDef

    pool = build_pool(db)
    catalog_service.create_period(db, product_code=pool.product_code, actor=SYSTEM,
                                  period=PeriodDef(code="P2", sale_start=date(2025, 4, 1),
                                                   sale_end=date(2025, 6, 30),
                                                   cover_start=date(2025, 4, 1)))
    newcomer = f.member(db, login=True)
    f.policy(db, member=newcomer, product_code=pool.product_code, period_code="P2",
             on=date(2025, 4, 10))
    db.commit()
    for quarter, today in (("2025Q1", AFTER_Q1), ("2025Q2", date(2025, 7, 5))):
        settlement_service.close_quarter(db, project_code=CODE, quarter=quarter, actor=SYSTEM,
                                         today=today)
    db.commit()
    mine = settlement_service.member_statement(db, member_id=newcomer.id, actor=SYSTEM)
    assert [q["quarter"] for q in mine["quarters"]] == ["2025Q2"]
    q2 = mine["quarters"][0]
    assert q2["paid"] == "365.00" and 0 < Decimal(q2["contribution"]) < Decimal("365")
    db.commit()  # the read is audited
    sign_in(client, newcomer.member_number, f.PASSWORD)
    listing = client.get("/me/statements").text
    assert "2025Q2" in listing and "2025Q1" not in listing


def test_the_accounts_show_a_bad_quarter_as_it_was(client, db):
    """/me/accounts showed a quarter with a result of -190,969 and a deficit of 242,033 as
    "surplus 0.00"."""
    from datetime import date

    from mutua.claims import payments
    from tests.integration.settlement.conftest import medical_claim

    pool = _closed_pool(client, db)
    for p in pool.policies[:4]:
        medical_claim(db, p.id, on=date(2025, 5, 10), invoice="2000")
    payments.pay(db, project_code=CODE, actor=SYSTEM, on=date(2025, 5, 20))
    db.commit()
    bad = settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q2",
                                           actor=SYSTEM, today=date(2025, 7, 5))
    db.commit()
    assert Decimal(bad["result"]) < 0 and Decimal(bad["deficit_after"]) > 0
    page = client.get("/me/accounts").text
    row = page[page.index("<td data-label=\"季度\">2025Q2"):].split("</tr>")[0]
    assert "-¥" in row or "−¥" in row or "¥-" in row  # the loss, as it was
    ratio = Decimal(bad["loss_ratio"])
    assert f"{ratio * 100:.1f}%" in row  # claims incurred per premium earned
    from mutua.web.i18n import format_money

    assert format_money(Decimal(bad["deficit_after"]), locale="zh_CN") in row


def test_the_policy_page_shows_its_own_rise_quarter_by_quarter(client, db):
    pool = _closed_pool(client, db)
    page = client.get(f"/me/policies/{pool.policies[0].id}").text
    pool_statement = settlement_service.project_statement(db, project_code=CODE,
                                                          quarter="2025Q1")
    assert "各季度结余共享" in page and f"{pool_statement['uplift_rate_percent']}%" in page
