"""Statements and accounts pages: the pool's quarter, the member's share, the PDF."""

from __future__ import annotations

import io

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
