"""Member claims pages: report with a document, follow it, forbidden for others' claims."""

from __future__ import annotations

import re
from datetime import timedelta

from mutua.auth.security import SYSTEM
from mutua.claims import service as claims_service
from mutua.claims.schemas import ClaimIn, ItemIn
from mutua.dates import today as shanghai_today
from tests import factories as f
from tests.integration.web.conftest import csrf_of, post_form, sign_in

PDF = b"%PDF-1.4\n% a tiny invoice\n"


def _covered_member(client, db):
    f.accident_project(db)
    m = f.member(db, login=True)
    p = f.policy(db, member=m, on=shanghai_today() - timedelta(days=20))
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    return m, p


def test_a_member_reports_a_claim_with_an_invoice_and_follows_it(client, db):
    _m, p = _covered_member(client, db)
    form = client.get("/me/claims/new")
    assert form.status_code == 200 and "意外医疗" in form.text
    reported = client.post("/me/claims/new", data={
        "csrf_token": csrf_of(form.text), "cover": f"{p.id}|medical", "event_type": "accident",
        "event_date": (shanghai_today() - timedelta(days=2)).isoformat(), "place": "深圳南山",
        "description": "送餐途中摔倒", "invoice_amount": "1200", "social_insurance_paid": "200",
        "has_social_insurance": "true", "document_kind": "invoice"},
        files={"document": ("invoice.pdf", PDF, "application/pdf")}, follow_redirects=False)
    assert reported.status_code == 303, reported.text[-1500:]
    page = client.get(reported.headers["location"])
    assert page.status_code == 200
    assert "invoice.pdf" in page.text and "发票" in page.text
    assert "扣除免赔额" in page.text  # the engine's reason, in words
    listing = client.get("/me/claims")
    assert "CL" in listing.text


def test_a_claim_outside_cover_is_explained(client, db):
    _m, p = _covered_member(client, db)
    form = client.get("/me/claims/new")
    refused = client.post("/me/claims/new", data={
        "csrf_token": csrf_of(form.text), "cover": f"{p.id}|medical", "event_type": "accident",
        "event_date": (shanghai_today() - timedelta(days=400)).isoformat(),
        "invoice_amount": "100"}, follow_redirects=False)
    assert refused.status_code == 422
    # The rule itself, beside the date: not a canned sentence about some other field.
    beside = re.search(r'<p class="field-error" id="event_date-error">([^<]*)</p>', refused.text)
    assert beside, refused.text[-3000:]
    assert "不得早于" in beside.group(1) or "保障" in beside.group(1), beside.group(1)


def test_another_members_claim_is_not_found(client, db):
    """404, as the API answers (claims.workflow.load_claim): a member may not learn it exists."""
    f.accident_project(db)
    other = f.member(db)
    theirs = f.policy(db, member=other, on=shanghai_today() - timedelta(days=20))
    claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=theirs.id, event_type="accident", event_date=shanghai_today() - timedelta(days=1),
        items=[ItemIn(benefit_code="medical", invoice_amount="300")]))
    db.commit()
    me = f.member(db, login=True)
    db.commit()
    sign_in(client, me.member_number, f.PASSWORD)
    assert client.get(f"/me/claims/{claim.id}").status_code == 404
    appeal = post_form(client, f"/me/claims/{claim.id}/appeal", {"reason": "not fair at all"},
                       from_page=f"/me/claims/{claim.id}")
    assert appeal.status_code == 404


def test_a_member_adds_a_document_and_a_bad_one_is_refused_with_nothing_stored(client, db):
    _m, p = _covered_member(client, db)
    claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=p.id, event_type="accident", event_date=shanghai_today() - timedelta(days=1),
        items=[ItemIn(benefit_code="medical", invoice_amount="300")]))
    db.commit()
    page = client.get(f"/me/claims/{claim.id}")
    refused = client.post(f"/me/claims/{claim.id}/documents", data={
        "csrf_token": csrf_of(page.text), "document_kind": "invoice"},
        files={"document": ("scan.gif", b"GIF89a....", "image/gif")}, follow_redirects=False)
    assert refused.status_code == 422 and "类型须为 PDF、JPEG 或 PNG" in refused.text
    assert claims_service.list_documents(db, claim_id=claim.id, actor=SYSTEM) == []
    added = client.post(f"/me/claims/{claim.id}/documents", data={
        "csrf_token": csrf_of(page.text), "document_kind": "invoice"},
        files={"document": ("invoice.pdf", PDF, "application/pdf")}, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"].endswith("#documents")
    docs = claims_service.list_documents(db, claim_id=claim.id, actor=SYSTEM)
    assert [(d.kind, d.filename) for d in docs] == [("invoice", "invoice.pdf")]
