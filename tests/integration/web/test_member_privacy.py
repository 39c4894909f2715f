"""A member downloads what the mutual holds about them (JSON and PDF) and asks to close the
account; staff close it once nothing is in force or open."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from mutua.audit.models import AuditEvent
from mutua.auth.models import User
from mutua.errors import Conflict
from mutua.members.models import ClosureRequest
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in


def test_the_json_holds_the_members_own_records_and_the_export_is_audited(client, db):
    product = f.accident_project(db)
    me, other = f.member(db, login=True), f.member(db)
    f.policy(db, member=me, product_code=product.code)
    f.policy(db, member=other, product_code=product.code)
    db.commit()
    sign_in(client, me.member_number, f.PASSWORD)
    r = client.get("/me/privacy/data.json")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    data = json.loads(r.content)
    assert data["member"]["id_number"] == me.id_number  # theirs, in full
    assert len(data["policies"]) == 1
    assert other.id_number not in r.text and other.phone not in r.text
    db.rollback()
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "member.data_export"))


def test_the_pdf_reads_in_chinese(client, db):
    from pypdf import PdfReader

    f.accident_project(db)
    me = f.member(db, login=True, name="陈小骑")
    db.commit()
    sign_in(client, me.member_number, f.PASSWORD)
    r = client.get("/me/privacy/data.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages
                   ).replace("\x00", "")
    assert "互助社保存的您的信息" in text and "陈小骑" in text


def test_closure_is_asked_once_and_closed_by_staff_when_nothing_is_open(client, db):
    from mutua.auth.roles import Role

    f.accident_project(db)
    me = f.member(db, login=True)
    db.commit()
    sign_in(client, me.member_number, f.PASSWORD)
    assert post_form(client, "/me/privacy/close", {"reason": "不再需要"}).status_code == 303
    r = post_form(client, "/me/privacy/close", {"reason": ""})
    assert r.status_code == 409
    db.rollback()
    request_id = db.scalar(select(ClosureRequest.id))
    staff = f.staff(db, Role.CLAIMS)
    db.commit()
    desk = type(client)(client.app)
    sign_in(desk, staff.username, f.PASSWORD)
    assert "closures" in desk.get("/staff/complaints").text
    r = post_form(desk, f"/staff/closures/{request_id}/close", {},
                  from_page="/staff/complaints")
    assert r.status_code == 303
    assert client.get("/me", follow_redirects=False).status_code == 303  # signed out
    db.rollback()
    assert not db.scalar(select(User.active).where(User.member_id == me.id))


def test_an_account_with_a_policy_in_force_is_not_closed(db):
    from mutua.auth.security import SYSTEM
    from mutua.members import accounts
    from mutua.privacy import service as privacy

    product = f.accident_project(db)
    me = f.member(db, login=True)
    f.policy(db, member=me, product_code=product.code)
    row = privacy.request_closure(db, actor=accounts.principal_of(f.login_of(db, me)))
    with pytest.raises(Conflict):
        privacy.close_account(db, request_id=row.id, actor=SYSTEM)
