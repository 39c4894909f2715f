"""Claims through the HTTP API on a real database: report to payment, access, bad input."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mutua.audit.models import AuditEvent
from mutua.auth.roles import Role
from mutua.claims import service
from mutua.claims.models import CaseReserveMovement, Claim, ClaimDocument, ClaimPayment
from mutua.jobs.models import Job
from mutua.ledger import service as ledger_service
from tests import factories as f
from tests.jobs import result as job_result

from .conftest import TODAY, accident, assert_books_balance


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def test_report_to_payment_end_to_end(client, db, world):
    member = f.member_headers(client, db, world.member)
    handler = f.staff_headers(client, db, Role.CLAIMS)

    # First notice by the member: a grade-8 disability (30%) needs a handler.
    r = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "disability", "disability_grade": 8}))
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["status"] == "reported" and claim["case_reserve"] == "30000.00"
    assert claim["items"][0]["engine_amount"] == "30000.00"
    pid = world.project_id
    assert ledger_service.balance_of(db, project_id=pid, account="case_reserve") == Decimal(
        "-30000.00")

    queue = client.get("/api/v1/claims", headers=handler, params={"status": "open"}).json()
    assert [c["id"] for c in queue["items"]] == [claim["id"]]
    cid = claim["id"]
    assert client.post(f"/api/v1/claims/{cid}/review", headers=handler).status_code == 200
    r = client.post(f"/api/v1/claims/{cid}/decide", headers=handler, json=f.ON_PAPER)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "decided" and r.json()["outcome"] == "approve"
    assert service.case_reserve_at(db, project_id=pid, as_of=TODAY) == 0
    assert ledger_service.balance_of(db, project_id=pid, account="claims_payable") == Decimal(
        "-30000.00")

    # The member sees the decision with its reasons.
    seen = client.get(f"/api/v1/claims/{cid}", headers=member).json()
    assert seen["outcome"] == "approve" and seen["approved"] == "30000.00"
    assert seen["items"][0]["reasons"] == ["DISABILITY_GRADE_SHARE"]
    assert seen["decisions"][0]["round"] == 1 and seen["can_appeal"] is True

    # Pay in a batch; paying again pays nothing twice.
    code = "TEST-ACC"
    first = job_result(client, client.post("/api/v1/claims/payments", headers=handler,
                                           json={"project": code}), handler)  # a job: 202
    assert (first["claims"], first["total"]) == (1, "30000.00")
    again = job_result(client, client.post("/api/v1/claims/payments", headers=handler,
                                           json={"project": code}), handler)
    assert (again["claims"], again["batch_key"]) == (0, None)
    assert count(db, ClaimPayment) == 1
    assert client.get(f"/api/v1/claims/{cid}", headers=member).json()["status"] == "paid"
    assert ledger_service.balance_of(db, project_id=pid, account="claims_payable") == 0
    assert service.paid_in(db, project_id=pid, start=TODAY, end=TODAY) == Decimal("30000.00")
    assert_books_balance(db)

    published = client.get("/api/v1/claims/published", headers=member,
                           params={"project": code}).json()
    assert published["total"] == 1
    row = published["items"][0]
    assert row["name"] == "张**" and row["age_band"] == "30-39" and row["city"] == "深圳"
    assert row["amount_paid"] == "30000.00"
    assert "id_number" not in row and "member_id" not in row

    assert client.post(f"/api/v1/claims/{cid}/close", headers=handler).json()["status"] == "closed"


def test_small_medical_claim_is_decided_without_a_handler(client, db, world):
    member = f.member_headers(client, db, world.member)
    r = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "medical", "invoice_amount": "1000",
                          "social_insurance_paid": "400", "has_social_insurance": True}))
    assert r.status_code == 201, r.text
    body = r.json()
    # (600 out of pocket - 100 deductible) x 90% with social insurance
    assert (body["status"], body["approved"], body["case_reserve"]) == ("decided", "450.00",
                                                                        "0.00")
    assert body["decisions"][0]["auto"] is True
    assert body["items"][0]["reasons"] == ["DEDUCTIBLE", "COINSURANCE"]
    assert body["uncovered_loss"] == "150.00"
    # the reserve was set and released the same day: both movements are kept
    assert count(db, CaseReserveMovement) == 2
    assert_books_balance(db)


def test_override_needs_a_written_reason_and_a_claim_is_decided_once(client, db, world):
    member = f.member_headers(client, db, world.member)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    claim = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "hospital", "hospital_days": 120})).json()
    assert claim["status"] == "reported"  # days capped: partly approved needs a handler
    item = claim["items"][0]
    assert item["engine_amount"] == "4500.00"  # 90 days x 50
    cid = claim["id"]
    override = {**f.ON_PAPER, "items": [{"item_id": item["id"], "approved": "3000"}]}
    r = client.post(f"/api/v1/claims/{cid}/decide", headers=handler, json=override)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "reason"
    assert count(db, CaseReserveMovement) == 1  # nothing stored by the refused decision

    override["reason"] = "discharge summary shows 60 days in hospital"
    r = client.post(f"/api/v1/claims/{cid}/decide", headers=handler, json=override)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["approved"] == "3000.00" and body["decisions"][0]["overridden"] is True
    assert "HANDLER_OVERRIDE" in body["items"][0]["reasons"]
    assert body["outcome"] == "partly_approve"
    again = client.post(f"/api/v1/claims/{cid}/decide", headers=handler, json=f.ON_PAPER)
    assert again.status_code == 409
    db.expire_all()
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.entity == "claim")))
    assert {"claim.report", "claim.decide"} <= actions
    assert_books_balance(db)


def test_denied_sudden_death_appealed_once_then_paid(client, db, world):
    member = f.member_headers(client, db, world.member)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    began = datetime.combine(TODAY - timedelta(days=3), datetime.min.time()).replace(hour=8)
    body = {"policy_id": world.policy.id, "event_type": "sudden_death",
            "event_date": (TODAY - timedelta(days=2)).isoformat(),
            "items": [{"benefit_code": "sudden_death", "symptoms_began_at": began.isoformat(),
                       "died_at": (began + timedelta(hours=30)).isoformat()}]}
    claim = client.post("/api/v1/claims", headers=member, json=body).json()
    cid = claim["id"]
    assert claim["items"][0]["engine_reasons"] == ["SUDDEN_DEATH_OVER_24H"]
    decided = client.post(f"/api/v1/claims/{cid}/decide", headers=handler, json=f.ON_PAPER).json()
    assert decided["outcome"] == "deny" and decided["approved"] == "0.00"

    # the family appeals: the onset was misrecorded; the handler pays with a reason
    r = client.post(f"/api/v1/claims/{cid}/appeal", headers=member,
                    json={"reason": "symptoms began the next morning, hospital record attached"})
    assert r.status_code == 200 and r.json()["status"] == "reopened"
    item_id = claim["items"][0]["id"]
    r = client.post(f"/api/v1/claims/{cid}/decide", headers=handler,
                    json={**f.ON_PAPER, "items": [{"item_id": item_id, "approved": "50000"}]})
    assert r.status_code == 422  # answering an appeal with an override needs a reason
    r = client.post(f"/api/v1/claims/{cid}/decide", headers=handler, json={**f.ON_PAPER,
        "items": [{"item_id": item_id, "approved": "50000"}],
        "reason": "hospital record shows onset 20 hours before death"})
    assert r.status_code == 202, r.text  # 50,000 above the engine: a second handler approves
    second = f.staff_headers(client, db, Role.CLAIMS)
    r = client.post(f"/api/v1/claims/{cid}/override/approve", headers=second, json={})
    assert r.status_code == 200, r.text
    assert r.json()["approved"] == "50000.00" and len(r.json()["decisions"]) == 2
    paid = job_result(client, client.post("/api/v1/claims/payments", headers=handler,
                                          json={"project": "TEST-ACC"}), handler)
    assert paid["total"] == "50000.00"
    second = client.post(f"/api/v1/claims/{cid}/appeal", headers=member,
                         json={"reason": "once more please"})
    assert second.status_code == 409
    assert_books_balance(db)


def test_members_see_only_their_own_claims(client, db, world):
    mine = f.member_headers(client, db, world.member)
    theirs = f.member_headers(client, db, world.other)
    claim = client.post("/api/v1/claims", headers=mine, json=accident(
        world.policy.id, {"benefit_code": "disability", "disability_grade": 10})).json()
    assert client.get(f"/api/v1/claims/{claim['id']}", headers=theirs).status_code == 404
    assert client.get("/api/v1/claims", headers=theirs).json()["total"] == 0
    assert client.post(f"/api/v1/claims/{claim['id']}/decide", headers=mine,
                       json=f.ON_PAPER).status_code == 403
    assert client.post("/api/v1/claims/payments", headers=mine,
                       json={"project": "TEST-ACC"}).status_code == 403
    r = client.post(f"/api/v1/claims/{claim['id']}/appeal", headers=theirs,
                    json={"reason": "not my claim at all"})
    assert r.status_code == 404
    # searching by number never widens what a member sees
    found = client.get("/api/v1/claims", headers=theirs, params={"q": claim["claim_number"]})
    assert found.status_code == 200 and found.json()["total"] == 0
    handler = f.staff_headers(client, db, Role.CLAIMS)
    by_number = client.get("/api/v1/claims", headers=handler,
                           params={"q": claim["claim_number"].lower()}).json()
    assert [c["id"] for c in by_number["items"]] == [claim["id"]]
    by_member = client.get("/api/v1/claims", headers=handler,
                           params={"q": world.member.member_number}).json()
    assert claim["id"] in [c["id"] for c in by_member["items"]]
    bad = client.get("/api/v1/claims", headers=handler, params={"q": "DROP TABLE"})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "q"


@pytest.mark.parametrize("change,field", [
    ({"event_date": (TODAY + timedelta(days=1)).isoformat()}, "event_date"),
    ({"event_date": (TODAY - timedelta(days=400)).isoformat()}, "event_date"),
    ({"items": [{"benefit_code": "disability", "disability_grade": 11}]},
     "items[0].disability_grade"),
    ({"items": [{"benefit_code": "medical", "invoice_amount": "-5"}]},
     "items[0].invoice_amount"),
    ({"items": [{"benefit_code": "medical", "invoice_amount": "100",
                 "social_insurance_paid": "300"}]}, "items[0].invoice_amount"),
    ({"items": [{"benefit_code": "no_such"}]}, "items[0].benefit_code"),
    ({"items": []}, "items"),
    ({"event_type": "flood"}, "event_type"),
])
def test_bad_claims_are_refused_and_store_nothing(client, db, world, change, field):
    member = f.member_headers(client, db, world.member)
    body = accident(world.policy.id, {"benefit_code": "death"}) | change
    r = client.post("/api/v1/claims", headers=member, json=body)
    assert r.status_code == 422, r.text
    assert field in [p["field"] for p in r.json()["problems"]]
    assert count(db, Claim) == 0


def test_reversed_sudden_death_times_and_another_members_policy(client, db, world):
    member = f.member_headers(client, db, world.member)
    died = datetime.combine(TODAY - timedelta(days=2), datetime.min.time()).replace(hour=8)
    body = {"policy_id": world.policy.id, "event_type": "sudden_death",
            "event_date": (TODAY - timedelta(days=2)).isoformat(),
            "items": [{"benefit_code": "sudden_death", "died_at": died.isoformat(),
                       "symptoms_began_at": (died + timedelta(hours=2)).isoformat()}]}
    r = client.post("/api/v1/claims", headers=member, json=body)
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "items[0].died_at"
    r = client.post("/api/v1/claims", headers=member, json=accident(
        world.other_policy.id, {"benefit_code": "death"}))
    assert r.status_code == 404
    assert count(db, Claim) == 0


def test_paying_a_claim_that_is_not_approved_is_refused(client, db, world):
    member = f.member_headers(client, db, world.member)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    claim = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "death"})).json()
    r = client.post("/api/v1/claims/payments", headers=handler,
                    json={"project": "TEST-ACC", "claim_ids": [claim["id"]]})
    # refused while the handler waits: no job is queued for a batch that cannot run
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "claim_ids"
    assert count(db, ClaimPayment) == 0 and count(db, Job) == 0


PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def test_documents_type_and_size_limits(client, db, world, app, settings):
    member = f.member_headers(client, db, world.member)
    claim = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "death"})).json()
    url = f"/api/v1/claims/{claim['id']}/documents"
    ok = client.post(url, headers=member, data={"kind": "invoice"},
                     files={"file": ("invoice.pdf", PDF, "application/pdf")})
    assert ok.status_code == 201, ok.text
    stored = settings.upload_dir / "claims"
    assert len([p for p in stored.rglob("*") if p.is_file()]) == 1
    got = client.get(f"{url}/{ok.json()['id']}", headers=member)
    assert got.content == PDF

    app.state.settings.upload_max_bytes = 40
    bad = [("big.pdf", PDF, "application/pdf"),
           ("run.exe", b"MZ\x90\x00", "application/octet-stream"),
           ("fake.png", PDF, "image/png")]
    for name, data, ctype in bad:
        r = client.post(url, headers=member, files={"file": (name, data, ctype)})
        assert r.status_code == 422 and r.json()["problems"][0]["field"] == "file", r.text
    assert count(db, ClaimDocument) == 1
    assert len([p for p in stored.rglob("*") if p.is_file()]) == 1


def test_medical_claim_above_the_auto_limit_waits_for_a_handler(client, db, world, app):
    member = f.member_headers(client, db, world.member)
    assert app.state.settings.auto_decide_limit_yuan == 5000
    r = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "medical", "invoice_amount": "8000",
                          "has_social_insurance": True}))
    body = r.json()
    # (8000 - 100) x 90% = 7110: every rule passes but it is above the limit
    assert body["status"] == "reported" and body["case_reserve"] == "7110.00"
    assert body["decisions"] == []


def test_racing_payment_batches_pay_once(engine, db, world):
    """Two batches for one project at once: one pays, the other stores nothing."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row-level races are a PostgreSQL matter; SQLite serialises writers")
    import threading

    from mutua.auth.security import SYSTEM
    from mutua.claims.schemas import ClaimIn, DecisionIn
    from mutua.db import session_factory
    from mutua.errors import Conflict

    claim = service.report(db, data=ClaimIn.model_validate(accident(
        world.policy.id, {"benefit_code": "disability", "disability_grade": 9})), actor=SYSTEM)
    service.decide(db, claim_id=claim.id, actor=SYSTEM, data=DecisionIn(**f.ON_PAPER))
    db.commit()
    first, second = session_factory(engine)(), session_factory(engine)()
    outcome = {}
    try:
        service.pay(first, project_code="TEST-ACC", actor=SYSTEM)  # holds its rows, uncommitted

        def rival():
            try:
                outcome["second"] = service.pay(second, project_code="TEST-ACC", actor=SYSTEM)
                second.commit()
            except Conflict as exc:
                second.rollback()
                outcome["second"] = exc

        t = threading.Thread(target=rival)
        t.start()
        t.join(timeout=1)
        first.commit()
        t.join(timeout=30)
    finally:
        first.close()
        second.close()
    assert isinstance(outcome["second"], Conflict) or outcome["second"].claims == 0
    assert count(db, ClaimPayment) == 1
    assert_books_balance(db)


def test_a_handler_revising_a_reserve_through_the_api_gives_a_reason(client, db, world):
    member = f.member_headers(client, db, world.member)
    claim = client.post("/api/v1/claims", headers=member, json=accident(
        world.policy.id, {"benefit_code": "medical", "invoice_amount": "8000",
                          "has_social_insurance": True})).json()
    handler = f.staff_headers(client, db, Role.CLAIMS)
    url = f"/api/v1/claims/{claim['id']}/reserve"
    for body in ({"amount": "6000"}, {"amount": "6000", "reason": ""}):
        refused = client.post(url, headers=handler, json=body)
        assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "reason"
    assert client.get(f"/api/v1/claims/{claim['id']}", headers=handler).json()[
        "case_reserve"] == "7110.00"
    done = client.post(url, headers=handler, json={"amount": "6000", "reason": "invoice checked"})
    assert done.status_code == 200 and done.json()["case_reserve"] == "6000.00"
