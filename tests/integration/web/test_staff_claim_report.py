"""A claims handler reports a claim on a member's behalf (代客报案) and adds documents to a
claim: the claim is the member's, the handler its reporter; refused input stores nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mutua.audit import service as audit_service
from mutua.auth.models import User
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.claims import service as claims_service
from mutua.claims.models import Claim, ClaimDocument
from mutua.claims.schemas import ClaimIn, ItemIn
from mutua.dates import today as shanghai_today
from mutua.ledger.models import Entry
from tests import factories as f
from tests.integration.web.conftest import csrf_of, post_form, sign_in

TODAY = shanghai_today()
PDF = b"%PDF-1.4\n% a tiny invoice\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
LIMIT = 4096  # the upload limit in these tests, so "too large" needs only a few kilobytes


@pytest.fixture
def settings(engine, tmp_path):
    from mutua.settings import Settings

    return Settings(database_url=engine.test_url, upload_dir=tmp_path / "uploads",
                    login_attempts_per_minute=1000, upload_max_bytes=LIMIT)


@pytest.fixture
def handler(client, staff_user):
    sign_in(client, staff_user(Role.CLAIMS))
    return client


def covered_member(db):
    f.accident_project(db)
    m = f.member(db, login=True, name="王阿婆")
    p = f.policy(db, member=m, on=TODAY - timedelta(days=20))
    db.commit()
    return m, p


def stored(db, settings) -> tuple[int, int, int, int]:
    """Claims, documents, ledger entries and files on disk: what a refusal must not add."""
    db.expire_all()
    files = [x for x in Path(settings.upload_dir).rglob("*") if x.is_file()]
    return (db.scalar(select(func.count(Claim.id))),
            db.scalar(select(func.count(ClaimDocument.id))),
            db.scalar(select(func.count(Entry.id))), len(files))


def report_form(p, **changes) -> dict:
    form = {"cover": f"{p.id}|medical", "event_type": "accident",
            "event_date": (TODAY - timedelta(days=2)).isoformat(), "place": "深圳南山",
            "description": "骑车送餐途中摔伤，电话报案", "invoice_amount": "1200",
            "social_insurance_paid": "200", "has_social_insurance": "true",
            "document_kind": "invoice"}
    return {**form, **changes}


def test_a_handler_reports_for_a_member_from_the_member_page(app, client, db, settings,
                                                              staff_user):
    m, p = covered_member(db)
    sign_in(client, staff_user(Role.CLAIMS))
    member_page = client.get(f"/staff/members/{m.id}")
    link = f'href="/staff/claims/new?member={m.member_number}"'
    assert member_page.status_code == 200 and link in member_page.text
    assert "为该会员报案" in member_page.text
    form = client.get(f"/staff/claims/new?member={m.member_number}")
    assert form.status_code == 200
    assert "王阿婆" in form.text and p.policy_number in form.text and "意外医疗" in form.text
    done = client.post("/staff/claims/new", data={
        "csrf_token": csrf_of(form.text), "member": m.member_number, **report_form(p)},
        files={"document": ("invoice.pdf", PDF, "application/pdf")}, follow_redirects=False)
    assert done.status_code == 303, done.text[-2000:]
    assert done.headers["location"].endswith("?done=reported")
    claim_id = int(done.headers["location"].split("/")[-1].split("?")[0])

    db.expire_all()
    claim = claims_service.load_claim(db, claim_id, SYSTEM)
    handler_id = db.scalar(select(User.id).where(User.username == "claims-user"))
    assert claim.member_id == m.id and claim.policy_id == p.id
    assert claim.reported_by == handler_id and claim.place == "深圳南山"
    events = audit_service.recent(db, entity="claim", entity_id=str(claim_id))
    actions = {(e.action, e.actor_username) for e in events}
    assert ("claim.report", "claims-user") in actions
    assert ("claim.document", "claims-user") in actions
    docs = claims_service.list_documents(db, claim_id=claim_id, actor=SYSTEM)
    assert [(d.kind, d.filename, d.uploaded_by) for d in docs] == [
        ("invoice", "invoice.pdf", handler_id)]
    assert (Path(settings.upload_dir) / docs[0].stored_path).read_bytes() == PDF

    page = client.get(done.headers["location"])
    assert page.status_code == 200
    assert "已以会员名义报案" in page.text and "invoice.pdf" in page.text

    with TestClient(app) as member_client:  # the member sees it as their own claim
        sign_in(member_client, m.member_number, f.PASSWORD)
        mine = member_client.get("/me/claims")
        assert mine.status_code == 200 and claim.claim_number in mine.text
        assert member_client.get(f"/me/claims/{claim_id}").status_code == 200


def test_the_form_reads_in_english_and_finds_members_by_number(db, handler):
    m, p = covered_member(db)
    empty = handler.get("/staff/claims/new")
    assert empty.status_code == 200 and "为会员报案" in empty.text and 'name="cover"' not in empty.text
    post_form(handler, "/language", {"locale": "en", "next": "/staff/claims/new"},
              from_page="/staff/claims/new")
    page = handler.get(f"/staff/claims/new?member={m.member_number.lower()}")
    assert page.status_code == 200 and '<html lang="en">' in page.text
    assert "Report a claim for a member" in page.text and "Policy and benefit" in page.text
    assert p.policy_number in page.text and "The member has social medical insurance" in page.text
    unknown = handler.get("/staff/claims/new?member=M999999999")
    assert unknown.status_code == 404 and "unknown member M999999999" in unknown.text


REFUSALS = [
    ("no policy in force on the date",
     {"event_date": (TODAY - timedelta(days=400)).isoformat()}, None, "不在保单保障期"),
    ("a date in the future", {"event_date": (TODAY + timedelta(days=3)).isoformat()}, None,
     "出险日期：不能是将来的时间"),
    ("a negative amount", {"invoice_amount": "-5"}, None,
     "医疗费用合计（元）：不得为负数"),
    ("not a PDF by its first bytes", {},
     ("invoice.pdf", b"MZ\x90\x00 a program, not an invoice", "application/pdf"),
     "文件内容不是 application/pdf 格式"),
    ("not PDF, JPEG or PNG", {}, ("scan.gif", b"GIF89a....", "image/gif"),
     "类型须为 PDF、JPEG 或 PNG"),
    ("too large", {}, ("big.pdf", b"%PDF-" + b"0" * LIMIT, "application/pdf"),
     f"超过允许的 {LIMIT} 字节"),
]


@pytest.mark.parametrize("case,changes,upload,words", REFUSALS,
                         ids=[r[0] for r in REFUSALS])
def test_a_bad_report_is_refused_with_the_values_kept_and_nothing_stored(
        db, settings, handler, case, changes, upload, words):
    m, p = covered_member(db)
    before = stored(db, settings)
    form = handler.get(f"/staff/claims/new?member={m.member_number}")
    files = {"document": upload} if upload else {"document": ("invoice.pdf", PDF,
                                                               "application/pdf")}
    refused = handler.post("/staff/claims/new", data={
        "csrf_token": csrf_of(form.text), "member": m.member_number, **report_form(p, **changes)},
        files=files, follow_redirects=False)
    assert refused.status_code == 422, case
    assert words in refused.text
    assert "骑车送餐途中摔伤，电话报案" in refused.text and 'value="深圳南山"' in refused.text
    assert stored(db, settings) == before


def test_a_handler_cannot_file_on_another_members_policy(db, settings, handler):
    m, _p = covered_member(db)
    other = f.member(db)
    theirs = f.policy(db, member=other, on=TODAY - timedelta(days=20))
    db.commit()
    before = stored(db, settings)
    refused = post_form(handler, "/staff/claims/new",
                        {"member": m.member_number, **report_form(theirs)},
                        from_page=f"/staff/claims/new?member={m.member_number}")
    assert refused.status_code == 422 and "请选择保单和保障责任" in refused.text
    assert stored(db, settings) == before


def test_members_and_finance_may_not_report_on_the_staff_page(client, db, staff_user):
    m, p = covered_member(db)
    sign_in(client, m.member_number, f.PASSWORD)
    page = client.get(f"/staff/claims/new?member={m.member_number}")
    assert page.status_code == 403 and "无权访问" in page.text
    refused = client.post("/staff/claims/new", data={
        "csrf_token": csrf_of(client.get("/me/claims").text), "member": m.member_number,
        **report_form(p)}, follow_redirects=False)
    assert refused.status_code == 403
    client.cookies.clear()
    sign_in(client, staff_user(Role.FINANCE))
    assert client.get("/staff/claims/new").status_code == 403
    member_page = client.get(f"/staff/members/{m.id}")
    assert "/staff/claims/new" not in member_page.text
    db.expire_all()
    assert db.scalar(select(func.count(Claim.id))) == 0


def test_signed_out_is_sent_to_sign_in(client):
    page = client.get("/staff/claims/new", follow_redirects=False)
    assert page.status_code in (302, 303) and page.headers["location"].startswith("/signin")


# --- documents on the claim page -------------------------------------------------------------

def reported_claim(db):
    m, p = covered_member(db)
    claim = claims_service.report(db, actor=SYSTEM, data=ClaimIn(
        policy_id=p.id, event_type="accident", event_date=TODAY - timedelta(days=2),
        items=[ItemIn(benefit_code="medical", invoice_amount="60000",
                      has_social_insurance=True)]))
    db.commit()
    return claim


def test_a_handler_adds_a_document_on_the_claim_page(db, settings, handler):
    claim = reported_claim(db)
    page = handler.get(f"/staff/claims/{claim.id}")
    assert page.status_code == 200 and f'action="/staff/claims/{claim.id}/documents"' in page.text
    done = handler.post(f"/staff/claims/{claim.id}/documents", data={
        "csrf_token": csrf_of(page.text), "document_kind": "discharge_summary"},
        files={"document": ("discharge.png", PNG, "image/png")}, follow_redirects=False)
    assert done.status_code == 303 and "done=documents" in done.headers["location"]
    after = handler.get(done.headers["location"])
    assert "discharge.png" in after.text and "出院小结" in after.text
    assert "材料已添加" in after.text
    docs = claims_service.list_documents(db, claim_id=claim.id, actor=SYSTEM)
    assert [(d.kind, d.filename) for d in docs] == [("discharge_summary", "discharge.png")]


@pytest.mark.parametrize("upload,words", [
    (("scan.gif", b"GIF89a....", "image/gif"), "类型须为 PDF、JPEG 或 PNG"),
    (("fake.png", b"not a png at all", "image/png"), "文件内容不是 image/png 格式"),
    (None, "文件：为空"),
])
def test_a_bad_document_is_refused_on_the_claim_page(db, settings, handler, upload, words):
    claim = reported_claim(db)
    before = stored(db, settings)
    page = handler.get(f"/staff/claims/{claim.id}")
    refused = handler.post(f"/staff/claims/{claim.id}/documents", data={
        "csrf_token": csrf_of(page.text), "document_kind": "invoice"},
        files={"document": upload} if upload else None,  # None: no file chosen
        follow_redirects=False)
    assert refused.status_code == 422 and words in refused.text
    assert stored(db, settings) == before
