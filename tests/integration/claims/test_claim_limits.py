"""What a claim can never be: paid above its cover, dated where it cannot be true, reported
twice (issue 14 items 3, 5 and 6), through the HTTP API on a real database."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from mutua.audit.models import AuditEvent
from mutua.auth.roles import Role
from mutua.claims.models import Claim, ClaimItem, ClaimPayment
from tests import factories as f
from tests.jobs import result as job_result

from .conftest import TODAY, accident, assert_books_balance


def count(db, model, *where) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def disability(client, headers, policy_id, grade=10, **extra):
    r = client.post("/api/v1/claims", headers=headers, json=accident(
        policy_id, {"benefit_code": "disability", "disability_grade": grade}, **extra))
    assert r.status_code == 201, r.text
    return r.json()


# --- item 3: the ceiling -----------------------------------------------------------------------

def test_an_override_above_the_benefit_is_refused_and_nothing_is_decided(client, db, world):
    """The issue's case: a disability item approved at 50,000,000 and paid."""
    member = f.member_headers(client, db, world.member)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    claim = disability(client, member, world.policy.id, grade=3)  # 80% of 100,000
    item = claim["items"][0]
    r = client.post(f"/api/v1/claims/{claim['id']}/decide", headers=handler, json={**f.ON_PAPER,
        "items": [{"item_id": item["id"], "approved": "50000000"}],
        "reason": "family says the injury is worse than graded"})
    assert r.status_code == 422, r.text
    assert r.json()["problems"] == [{"field": "items[0].approved",
                                     "rule": "must not exceed 80000.00 for this item",
                                     "code": "must not exceed %(ceiling)s for this item",
                                     "params": {"ceiling": "80000.00"}}]
    db.expire_all()
    assert db.scalar(select(Claim.status).where(Claim.id == claim["id"])) == "reported"
    assert db.scalar(select(Claim.approved).where(Claim.id == claim["id"])) == 0


def test_an_earlier_claim_spends_the_shared_sum_for_a_later_override(client, db, world, app):
    app.state.settings.override_second_approval_yuan = 10_000_000  # not the point here
    member = f.member_headers(client, db, world.member)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    first = disability(client, member, world.policy.id, grade=1, days_ago=9)  # 100,000
    assert client.post(f"/api/v1/claims/{first['id']}/decide", headers=handler,
                       json=f.ON_PAPER).status_code == 200
    death = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "death"}, days_ago=3)).json()
    assert death["items"][0]["engine_amount"] == "0.00"  # the shared 100,000 is spent
    r = client.post(f"/api/v1/claims/{death['id']}/decide", headers=handler, json={**f.ON_PAPER,
        "items": [{"item_id": death["items"][0]["id"], "approved": "0.01"}],
        "reason": "a token amount the cover no longer has"})
    assert r.status_code == 422 and "must not exceed 0.00" in r.text


def test_the_payment_batch_leaves_unpaid_an_item_above_its_ceiling(client, db, world):
    """Defence in depth: an approved amount that got past the decision is not paid."""
    member = f.member_headers(client, db, world.member)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    other = f.member_headers(client, db, world.other)
    bad = disability(client, member, world.policy.id, grade=10)
    good = disability(client, other, world.other_policy.id, grade=10)
    for c in (bad, good):
        assert client.post(f"/api/v1/claims/{c['id']}/decide", headers=handler,
                           json=f.ON_PAPER).status_code == 200
    # a row written past the rules (an old decision, a hand edit): 50,000,000 on 10,000
    db.execute(update(ClaimItem).where(ClaimItem.claim_id == bad["id"])
               .values(approved=50_000_000))
    db.execute(update(Claim).where(Claim.id == bad["id"]).values(approved=50_000_000))
    db.commit()
    body = job_result(client, client.post("/api/v1/claims/payments", headers=handler,
                                          json={"project": "TEST-ACC"}), handler)
    assert (body["claims"], body["total"]) == (1, "10000.00")
    assert [(x["claim_id"], x["approved"], x["ceiling"]) for x in body["refused"]] == [
        (bad["id"], "50000000.00", "10000.00")]
    assert count(db, ClaimPayment, ClaimPayment.claim_id == bad["id"]) == 0
    assert count(db, AuditEvent, AuditEvent.action == "claim.payment_refused") == 1


# --- item 5: dates that cannot be true ---------------------------------------------------------

def test_a_death_in_1900_for_an_accident_this_year_is_refused(client, db, world):
    member = f.member_headers(client, db, world.member)
    r = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "death", "died_at": "1900-01-01T10:00:00+08:00"}))
    assert r.status_code == 422, r.text
    problem = r.json()["problems"][0]
    assert problem["field"] == "items[0].died_at"
    assert problem["rule"].startswith("must be within the event's window")
    assert count(db, Claim) == 0


def test_symptoms_after_the_death_and_death_before_the_accident_are_refused(client, db, world):
    member = f.member_headers(client, db, world.member)
    day = TODAY - timedelta(days=5)
    at = datetime(day.year, day.month, day.day, 10).isoformat()
    later = datetime(day.year, day.month, day.day, 12).isoformat()
    r = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "death", "died_at": at}, event_at=later))
    assert r.status_code == 422
    assert r.json()["problems"] == [{"field": "items[0].died_at",
                                     "rule": "must not be before event_at",
                                     "code": "must not be before event_at", "params": {}}]
    assert count(db, Claim) == 0


# --- item 6: the same event reported twice -----------------------------------------------------

def test_a_second_report_of_the_same_event_names_the_first(client, db, world):
    member = f.member_headers(client, db, world.member)
    first = disability(client, member, world.policy.id)
    r = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "medical", "invoice_amount": "300"}))
    assert r.status_code == 409, r.text
    body = r.json()
    assert (body["error"], body["claim_id"], body["claim_number"]) == (
        "duplicate_report", first["id"], first["claim_number"])
    assert first["claim_number"] in body["message"]
    # a member's reason does not let a second claim in
    again = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "medical", "invoice_amount": "300"},
        duplicate_reason="a second fall the same evening"))
    assert again.status_code == 409
    assert count(db, Claim) == 1
    # another date or another kind of event is another event
    assert client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "medical", "invoice_amount": "300"},
        days_ago=4)).status_code == 201


def test_staff_record_a_genuine_second_event_with_a_reason(client, db, world):
    member = f.member_headers(client, db, world.member)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    first = disability(client, member, world.policy.id)
    body = accident(world.policy.id, {"benefit_code": "medical", "invoice_amount": "300"})
    assert client.post("/api/v1/claims", headers=handler, json=body).status_code == 409
    r = client.post("/api/v1/claims", headers=handler, json=body | {
        "duplicate_reason": "a second accident the same day: hit by a car on the way home"})
    assert r.status_code == 201, r.text
    assert r.json()["duplicate_of"] == first["id"]
    assert r.json()["duplicate_reason"].startswith("a second accident")
    db.expire_all()
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "claim.report")
                       .order_by(AuditEvent.id.desc())).first()
    assert event.detail["duplicate_of"] == first["id"]
    assert_books_balance(db)
