"""Claims handling as a claims team works: the documents a benefit requires (issue 20 item 4)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from mutua.audit.models import AuditEvent
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.claims import handling, service
from mutua.claims.models import Claim, ClaimDecision
from mutua.cli import app as cli
from mutua.settings import get_settings
from tests import factories as f

from .conftest import TODAY, accident

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
DISABILITY = {"benefit_code": "disability", "disability_grade": 8}  # 30%, needs a handler


def _report(client, db, world, item=DISABILITY):
    member = f.member_headers(client, db, world.member)
    r = client.post("/api/v1/claims", headers=member, json=accident(world.policy.id, item))
    assert r.status_code == 201, r.text
    return r.json(), member


def _upload(client, headers, claim, kind):
    r = client.post(f"/api/v1/claims/{claim['id']}/documents", headers=headers,
                    data={"kind": kind}, files={"file": (f"{kind}.pdf", PDF, "application/pdf")})
    assert r.status_code == 201, r.text


def test_the_checklist_shows_what_each_benefit_needs_and_what_is_on_file(client, db, world):
    claim, member = _report(client, db, world)
    assert [(c["kind"], c["present"]) for c in claim["checklist"]] == [
        ("disability_assessment", False), ("medical_record", False), ("id_card", False),
        ("bank_card", False)]
    _upload(client, member, claim, "id_card")
    seen = client.get(f"/api/v1/claims/{claim['id']}", headers=member).json()
    assert {c["kind"]: c["present"] for c in seen["checklist"]}["id_card"] is True


def test_no_approval_without_the_required_documents_unless_a_reason_is_given(client, db, world):
    claim, _member = _report(client, db, world)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    url = f"/api/v1/claims/{claim['id']}/decide"
    refused = client.post(url, headers=handler, json={})
    assert refused.status_code == 422, refused.text
    problem = refused.json()["problems"][0]
    assert problem["field"] == "documents_reason"
    assert "disability_assessment, medical_record, id_card, bank_card" in problem["rule"]
    db.expire_all()
    assert db.scalar(select(ClaimDecision).where(ClaimDecision.claim_id == claim["id"])) is None

    waived = client.post(url, headers=handler, json={
        "documents_reason": "assessment seen at the hospital; family sends copies next week"})
    assert waived.status_code == 200, waived.text
    assert waived.json()["decisions"][0]["documents_reason"].startswith("assessment seen")
    db.expire_all()
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "claim.decide",
                                                AuditEvent.entity_id == str(claim["id"]))).one()
    assert event.detail["documents_missing"] == [
        "disability_assessment", "medical_record", "id_card", "bank_card"]
    assert event.detail["documents_reason"].startswith("assessment seen")


def test_with_every_document_on_file_the_handler_approves_without_a_reason(client, db, world):
    claim, member = _report(client, db, world)
    for kind in ("disability_assessment", "medical_record", "id_card", "bank_card"):
        _upload(client, member, claim, kind)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    r = client.post(f"/api/v1/claims/{claim['id']}/decide", headers=handler, json={})
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "approve" and r.json()["decisions"][0]["documents_reason"] == ""


def test_declining_is_an_action_with_a_written_reason_the_member_reads(client, db, world):
    claim, member = _report(client, db, world)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    url = f"/api/v1/claims/{claim['id']}/decline"
    short = client.post(url, headers=handler, json={"reason": "no"})
    assert short.status_code == 422 and short.json()["problems"][0]["field"] == "reason"
    db.expire_all()
    assert db.scalar(select(ClaimDecision).where(ClaimDecision.claim_id == claim["id"])) is None
    assert client.post(url, headers=member, json={"reason": "I changed my mind"}
                       ).status_code == 403  # only the claims team declines

    why = "the injury predates the cover: hospital record of 2019"
    r = client.post(url, headers=handler, json={"reason": why})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["status"], out["outcome"], out["approved"]) == ("decided", "deny", "0.00")
    assert out["case_reserve"] == "0.00"
    seen = client.get(f"/api/v1/claims/{claim['id']}", headers=member).json()
    assert seen["decisions"][0]["reason"] == why and seen["can_appeal"] is True
    assert client.post(url, headers=handler, json={"reason": why}).status_code == 409
    db.expire_all()
    actions = list(db.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_id == str(claim["id"]), AuditEvent.action.like("claim.de%"))))
    assert sorted(actions) == ["claim.decide", "claim.decline"]


def test_a_request_for_documents_stops_the_clock_until_a_document_arrives(client, db, world):
    """PRC Insurance Law art. 23: a decision within 30 days once the claim is complete; the
    days spent waiting for documents the handler asked for (art. 22) do not count."""
    claim, member = _report(client, db, world)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    assert claim["decision_due_on"] == (TODAY + timedelta(days=30)).isoformat()
    url = f"/api/v1/claims/{claim['id']}/documents-request"
    bad = client.post(url, headers=handler, json={"kinds": ["selfie"], "note": ""})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "kinds[0]"
    none = client.post(url, headers=handler, json={"kinds": []})
    assert none.status_code == 422 and none.json()["problems"][0]["field"] == "kinds"
    asked = client.post(url, headers=handler, json={
        "kinds": ["disability_assessment", "bank_card"], "note": "the full assessment report"})
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert body["status"] == "awaiting_docs" and body["documents_requested_on"]
    assert body["documents_request"].startswith("disability_assessment, bank_card")
    seen = client.get(f"/api/v1/claims/{claim['id']}", headers=member).json()
    assert seen["documents_request"] == body["documents_request"]
    assert client.post(url, headers=handler, json={"kinds": ["id_card"]}).status_code == 409

    # nothing is overdue while the claim waits, however long
    later = TODAY + timedelta(days=45)
    assert service.list_claims(db, actor=SYSTEM, status="overdue", on=later)[1] == 0

    # twelve days later the member sends the assessment: the clock runs again, 12 days later
    row = db.get(Claim, claim["id"])
    handling.documents_arrived(db, claim=row, actor=SYSTEM, on=TODAY + timedelta(days=12))
    assert row.status == "under_review" and row.documents_requested_on is None
    assert row.decision_due_on == TODAY + timedelta(days=42)
    assert service.list_claims(db, actor=SYSTEM, status="overdue", on=later)[1] == 1
    assert service.overdue_counts(db, on=later) == {world.project_id: 1}
    assert service.list_claims(db, actor=SYSTEM, status="overdue",
                               on=TODAY + timedelta(days=42))[1] == 0
    db.rollback()


def test_an_upload_by_the_member_resumes_a_waiting_claim(client, db, world):
    claim, member = _report(client, db, world)
    handler = f.staff_headers(client, db, Role.CLAIMS)
    client.post(f"/api/v1/claims/{claim['id']}/documents-request", headers=handler,
                json={"kinds": ["medical_record"]})
    _upload(client, member, claim, "medical_record")
    seen = client.get(f"/api/v1/claims/{claim['id']}", headers=member).json()
    assert seen["status"] == "under_review" and seen["documents_requested_on"] is None


def test_claims_are_assigned_to_active_handlers_only(client, db, world):
    claim, member = _report(client, db, world)
    handler = f.staff(db, Role.CLAIMS)
    finance = f.staff(db, Role.FINANCE)
    headers = f.staff_headers(client, db, Role.CLAIMS)
    url = f"/api/v1/claims/{claim['id']}/assign"
    wrong = client.post(url, headers=headers, json={"handler": finance.username})
    assert wrong.status_code == 422 and wrong.json()["problems"][0]["field"] == "handler"
    assert client.post(url, headers=member, json={"handler": handler.username}
                       ).status_code == 403
    r = client.post(url, headers=headers, json={"handler": handler.username})
    assert r.status_code == 200 and r.json()["assigned_name"] == handler.username
    mine, total = service.list_claims(db, actor=SYSTEM, assigned_to=handler.id)
    assert total == 1 and mine[0].id == claim["id"]
    back = client.post(url, headers=headers, json={"handler": ""})
    assert back.status_code == 200 and back.json()["assigned_name"] is None


def test_the_command_line_assigns_asks_for_documents_and_declines(client, db, world, engine,
                                                                    monkeypatch):
    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    handler = f.staff(db, Role.CLAIMS)
    db.commit()  # the command line reads the database through its own session
    claim, _member = _report(client, db, world)
    run, cid = CliRunner().invoke, str(claim["id"])
    try:
        wrong = run(cli, ["claims", "assign", cid, "--handler", "nobody"])
        assert wrong.exit_code != 0 and "handler" in str(wrong.exception)
        given = run(cli, ["claims", "assign", cid, "--handler", handler.username, "--json"])
        assert given.exit_code == 0, given.output
        assert json.loads(given.stdout)["assigned_name"] == handler.username

        bad = run(cli, ["claims", "request-documents", cid, "--kind", "selfie"])
        assert bad.exit_code != 0 and "kinds[0]" in str(bad.exception)
        asked = run(cli, ["claims", "request-documents", cid, "--kind", "medical_record",
                          "--note", "the discharge summary", "--by", handler.username])
        assert asked.exit_code == 0 and "awaiting_docs" in asked.output, asked.output

        empty = run(cli, ["claims", "decline", cid, "--reason", " "])
        assert empty.exit_code != 0 and "reason" in str(empty.exception)
        db.expire_all()
        assert db.get(Claim, claim["id"]).status == "awaiting_docs"
        declined = run(cli, ["claims", "decline", cid, "--reason",
                             "the injury happened before cover started", "--json"])
        assert declined.exit_code == 0, declined.output
        assert json.loads(declined.stdout)["approved"] == "0.00"
    finally:
        get_settings.cache_clear()
