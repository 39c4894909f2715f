"""The dashboard flags what needs attention in each project and its counts agree with the
pages they link to (issue 20.7)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from mutua.auth.security import SYSTEM
from mutua.catalog.models import Benefit
from mutua.claims import service as claims_service
from mutua.claims.models import Claim
from mutua.claims.schemas import ClaimIn, ItemIn
from mutua.dates import today
from mutua.policies.models import Policy
from mutua.web.pages.staff import warnings_of
from tests.integration.web.conftest import csrf_of


def _signed_in(app, password: str, login: str) -> TestClient:
    client = TestClient(app)
    page = client.get("/signin")
    client.post("/signin", data={"csrf_token": csrf_of(page.text), "login": login,
                                 "password": password})
    return client


def test_a_466_per_cent_loss_ratio_with_no_reserve_is_flagged():
    statement = {"loss_ratio": "4.66", "reserve_after": "0.00", "reserve_minimum": "52.42",
                 "deficit_after": "310.00"}
    kinds = [w["kind"] for w in warnings_of(statement, Decimal("0.6"))]
    assert kinds == ["loss_ratio", "reserve", "deficit"]
    assert warnings_of(statement | {"loss_ratio": "0.80", "reserve_after": "60",
                                    "deficit_after": "0"}, Decimal("0.6")) == []
    # no expected ratio on file: claims above premium is what is flagged
    assert [w["kind"] for w in warnings_of(statement | {"reserve_after": "60", "deficit_after":
                                                         "0"}, None)] == ["loss_ratio"]


def _report_a_claim(app) -> None:
    """A claim on a policy in force with a medical benefit, under review: an open claim."""
    with app.state.sessionmaker() as db:
        policy = db.scalar(select(Policy).join(Benefit, Benefit.product_id == Policy.product_id)
                           .where(Benefit.code == "medical", Policy.cover_end > today(),
                                  Policy.cover_start < today() - timedelta(days=40))
                           .order_by(Policy.id).limit(1))
        claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
            policy_id=policy.id, event_type="accident", event_date=today() - timedelta(days=1),
            items=[ItemIn(benefit_code="medical", invoice_amount="800")]))
        # The engine decides a plain report at once; a handler's second look keeps it open.
        db.execute(update(Claim).where(Claim.id == claim.id).values(status="under_review"))
        db.commit()


def test_each_open_claims_count_agrees_with_the_queue_it_links_to(demo_site):
    app, password, _logins = demo_site
    _report_a_claim(app)
    with _signed_in(app, password, "admin") as admin:
        dashboard = admin.get("/staff")
        assert dashboard.status_code == 200
        links = re.findall(r'<a href="(/staff/claims\?status=open&amp;project=[^"]+)">([\d,]+)</a>',
                           dashboard.text)
        assert links, "no open claims on the demo dashboard"
        for href, count in links:
            queue = admin.get(href.replace("&amp;", "&"))
            assert f"共{count}件理赔" in queue.text, (href, count)


def test_warnings_on_the_dashboard_are_those_of_each_last_close(demo_site):
    app, password, _logins = demo_site
    with _signed_in(app, password, "finance") as finance:
        page = finance.get("/staff").text
    flagged = re.search(r'<section class="warn" id="warnings".*?</section>', page, re.S)
    tags = re.findall(r'class="tag bad" href="#warnings">(\d+)', page)
    if flagged is None:
        assert not tags
        return
    assert len(re.findall(r"<li>", flagged.group(0))) == sum(int(n) for n in tags)


def test_the_project_accounts_sum_paid_claims_and_list_them_ten_at_a_time(demo_site):
    """/me/accounts listed 50 paid claims a page, 13,800 px at 360 px wide (issue 20.8)."""
    app, password, logins = demo_site
    member = next(login for login in logins if login.startswith("M"))
    with _signed_in(app, password, member) as client:
        page = client.get("/me/accounts").text
    assert 'id="paid-summary"' in page
    listed = page[page.index('id="paid-summary"'):]
    assert len(re.findall(r"<tr><td data-label=\"理赔\">", listed)) <= 10
    counts = [int(n.replace(",", "")) for n in re.findall(r"<dd>([\d,]+) 件 ·", page)]
    total = int(re.search(r"共 ([\d,]+) 件，最近支付的在前", page).group(1).replace(",", ""))
    assert sum(counts) == total
