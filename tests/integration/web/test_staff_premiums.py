"""Premiums and collection for finance (/staff/premiums): the collection table, a settlement
file uploaded through the page, the queue worked by hand; the dashboard's collection."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.dates import today
from mutua.policies import service as policies_service
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in
from tests.jobs import finish_jobs

PAGE = "/staff/premiums"


@pytest.fixture
def owed(db):
    f.accident_project(db, today=today(), sale_start=today() - timedelta(days=60))
    m = f.member(db)
    p = policies_service.enrol(db, member_id=m.id, product_code="TEST-ACC-1", period_code="P1",
                               actor=SYSTEM, on=today() - timedelta(days=40), paid=False)
    db.commit()
    return m, p


@pytest.fixture
def finance(client, staff_user):
    sign_in(client, staff_user(Role.FINANCE))
    return client


def test_finance_uploads_a_file_and_matches_a_payment_by_hand(finance, db, owed):
    m, p = owed
    page = finance.get(PAGE)
    assert page.status_code == 200 and "对账队列" in page.text and "收缴率" in page.text
    csv = (f"transaction_id,paid_on,amount,reference,member_number\n"
           f"T1,{today() - timedelta(days=1)},20.00,{p.policy_number},{m.member_number}\n")
    r = post_form(finance, f"{PAGE}/files", {"project": "TEST-ACC", "source": "bank"},
                  from_page=PAGE, files={"file": ("bank.csv", csv.encode(), "text/csv")})
    assert r.status_code == 303 and r.headers["location"].startswith("/staff/jobs/")
    finish_jobs(finance.app.state.engine)
    again = post_form(finance, f"{PAGE}/files", {"project": "TEST-ACC", "source": "bank"},
                      from_page=PAGE, files={"file": ("bank.csv", csv.encode(), "text/csv")})
    # the refusal reads in Chinese now that a Conflict's message is a translated template
    assert again.status_code == 422 and "已作为代收文件" in again.text
    queue = finance.get(PAGE)
    assert "超过宽限期" in queue.text  # paid after its grace period
    payment_id = int(queue.text.split('/staff/premiums/queue/')[1].split('/')[0])
    bad = post_form(finance, f"{PAGE}/queue/{payment_id}/hold", {"project": "TEST-ACC",
                                                                 "note": " "}, from_page=PAGE)
    assert bad.status_code == 422
    held = post_form(finance, f"{PAGE}/queue/{payment_id}/hold",
                     {"project": "TEST-ACC", "note": "已联系付款人"}, from_page=PAGE)
    assert held.status_code == 303
    assert "已联系付款人" in finance.get(f"{PAGE}?state=held").text


def test_the_dashboard_shows_collection_and_aged_receivables(finance, owed):
    page = finance.get("/staff")
    assert page.status_code == 200 and "各销售期保费收缴" in page.text
    assert "31-60天" in page.text
    english = finance.get("/staff", headers={"accept-language": "en"})
    assert english.status_code == 200


def test_other_roles_may_not_work_the_queue(client, staff_user, owed):
    sign_in(client, staff_user(Role.CLAIMS))
    assert client.get(PAGE).status_code == 403


def test_renewal_and_lapse_rates_show_with_a_chart_and_finance_starts_the_run(finance, owed):
    page = finance.get("/staff")
    assert "各销售期失效与续保" in page.text and "chart-cycle" in page.text
    premiums = finance.get(PAGE)
    assert "立即执行续保" in premiums.text and "续保率" in premiums.text
    r = post_form(finance, f"{PAGE}/renewal-run", {}, from_page=PAGE)
    assert r.status_code == 303 and r.headers["location"].startswith("/staff/jobs/")
    finish_jobs(finance.app.state.engine)
    job = finance.get(r.headers["location"])
    assert job.status_code == 200


def test_finance_refunds_a_lapsed_part_payment_from_the_page(finance, db, owed):
    from decimal import Decimal

    from mutua.policies import dues

    _m, p = owed
    due = dues.find_or_404(db, project_id=p.project_id, reference=p.policy_number)
    dues.apply(db, owed=due, amount=Decimal("10.00"), paid_on=due.grace_end - timedelta(days=1),
               reference="BANK")
    dues.lapse_overdue(db, on=today())
    db.commit()
    assert f"/staff/premiums/lapsed/{p.policy_number}/refund" in finance.get(PAGE).text
    form = {"project": "TEST-ACC"}
    r = post_form(finance, f"{PAGE}/lapsed/{p.policy_number}/refund", form, from_page=PAGE)
    assert r.status_code == 303
    again = post_form(finance, f"{PAGE}/lapsed/{p.policy_number}/refund", form, from_page=PAGE)
    assert again.status_code == 409
