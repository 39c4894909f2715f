"""Claims pages for issue 14: four eyes on the claim page, duplicate reports linked to the
first claim, a payment batch the cash cannot cover."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.claims import service as claims_service
from mutua.claims.schemas import ClaimIn, DecisionIn, ItemIn
from mutua.dates import SHANGHAI
from mutua.dates import today as shanghai_today
from mutua.ledger import service as ledger_service
from tests import factories as f
from tests.integration.web.conftest import csrf_of, post_form, sign_in

TODAY = shanghai_today()


@pytest.fixture
def pool(db):
    product = f.accident_project(db)
    m = f.member(db, login=True)
    p = f.policy(db, member=m, on=TODAY - timedelta(days=30))
    db.commit()
    return product, m, p


def late_sudden_death(db, policy_id):
    """The engine pays 0 (death 30 hours after the symptoms); a handler may pay up to 50,000."""
    began = datetime.combine(TODAY - timedelta(days=3), time(8), SHANGHAI)
    claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=policy_id, event_type="sudden_death", event_date=TODAY - timedelta(days=3),
        items=[ItemIn(benefit_code="sudden_death", symptoms_began_at=began,
                      died_at=began + timedelta(hours=30))]))
    db.commit()
    return claim


def test_a_large_override_waits_on_the_page_for_another_handler(client, app, db, pool,
                                                                staff_user):
    _product, _m, p = pool
    claim = late_sudden_death(db, p.id)
    item = claims_service.items_of(db, claim.id)[0]
    sign_in(client, staff_user(Role.CLAIMS, "first-handler"))
    done = post_form(client, f"/staff/claims/{claim.id}/decide", from_page=f"/staff/claims/{claim.id}",
                     data={f"approved_{item.id}": "40000", **f.ON_PAPER,
                           "reason": "hospital record: onset 20 hours before death"})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=pending")
    page = client.get(done.headers["location"])
    assert "待第二人复核的调整" in page.text and "撤回调整" in page.text
    assert "批准调整" not in page.text  # the one who asked cannot approve
    queue = client.get("/staff/claims", params={"status": "awaiting_approval"})
    assert claim.claim_number in queue.text

    with TestClient(app) as second:
        sign_in(second, staff_user(Role.CLAIMS, "second-handler"))
        page = second.get(f"/staff/claims/{claim.id}")
        assert "批准调整" in page.text and "first-handler" in page.text
        done = second.post(f"/staff/claims/{claim.id}/override/approve", data={
            "csrf_token": csrf_of(page.text), "note": "record read"}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"].endswith("?done=approved")
        after = second.get(done.headers["location"])
        assert "经第二位理赔人员批准" in after.text
    db.expire_all()
    assert claims_service.load_claim(db, claim.id, SYSTEM).status == "decided"


def test_a_member_reporting_an_event_twice_is_sent_to_the_first_claim(client, db, pool):
    _product, m, p = pool
    first = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=p.id, event_type="accident", event_date=TODAY - timedelta(days=2),
        items=[ItemIn(benefit_code="disability", disability_grade=10)]))
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    form = client.get("/me/claims/new")
    again = client.post("/me/claims/new", data={
        "csrf_token": csrf_of(form.text), "cover": f"{p.id}|medical", "event_type": "accident",
        "event_date": (TODAY - timedelta(days=2)).isoformat(), "invoice_amount": "300"},
        follow_redirects=False)
    assert again.status_code == 409
    assert first.claim_number in again.text and f'href="/me/claims/{first.id}"' in again.text
    assert "本次未新建赔案" in again.text


def test_staff_record_a_second_event_with_a_reason(client, db, pool, staff_user):
    _product, m, p = pool
    first = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=p.id, event_type="accident", event_date=TODAY - timedelta(days=2),
        items=[ItemIn(benefit_code="disability", disability_grade=10)]))
    db.commit()
    sign_in(client, staff_user(Role.CLAIMS))
    path = f"/staff/claims/new?member={m.member_number}"
    form = {"member": m.member_number, "cover": f"{p.id}|medical", "event_type": "accident",
            "event_date": (TODAY - timedelta(days=2)).isoformat(), "invoice_amount": "300"}
    refused = post_form(client, "/staff/claims/new", form, from_page=path)
    assert refused.status_code == 409 and f'href="/staff/claims/{first.id}"' in refused.text
    assert 'name="duplicate_reason"' in refused.text
    done = post_form(client, "/staff/claims/new", form | {
        "duplicate_reason": "a second fall on the way home, separate hospital visit"},
        from_page=path)
    assert done.status_code == 303, done.text[-800:]
    page = client.get(done.headers["location"])
    assert first.claim_number in page.text and "a second fall on the way home" in page.text


def test_a_batch_the_cash_cannot_cover_is_explained_on_the_queue(client, db, pool, staff_user):
    product, _m, p = pool
    claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=p.id, event_type="accident", event_date=TODAY - timedelta(days=2),
        items=[ItemIn(benefit_code="disability", disability_grade=10)]))
    claims_service.decide(db, claim_id=claim.id, actor=SYSTEM, data=DecisionIn(**f.ON_PAPER))
    db.commit()
    assert ledger_service.cash_balance(db, project_id=product.project_id) < 10000
    sign_in(client, staff_user(Role.CLAIMS))
    # the preview itself says so: nobody is asked to confirm a batch that cannot run
    r = client.get("/staff/claims/payments/preview?project=TEST-ACC")
    assert r.status_code == 409 and "确认支付" not in r.text
    assert "现金缺口" in r.text and "已批准透支额度" in r.text
