"""The member's inbox in the portal: the unread count in the header, the messages in the
reader's language, marking them read, and choosing channels and language."""

from __future__ import annotations

from sqlalchemy import select

from mutua.notify import service as notify
from mutua.notify.models import ContactPreference
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in


def test_the_header_counts_unread_messages_and_the_inbox_shows_them(client, db):
    f.accident_project(db)
    me, other = f.member(db, login=True), f.member(db)
    for m in (me, me, other):
        notify.tell(db, member_id=m.id, project_id=None, event="claim.reported",
                    ref_id=None, ref_text="CL000000042")
    db.commit()
    sign_in(client, me.member_number, f.PASSWORD)
    home = client.get("/me")
    assert 'data-unread="2"' in home.text
    page = client.get("/me/inbox")
    assert page.text.count("理赔案CL000000042已报案") == 2
    r = post_form(client, "/me/inbox/read", {}, from_page="/me/inbox")
    assert r.status_code == 303
    assert "data-unread" not in client.get("/me").text
    assert notify.unread_count(db, member_id=other.id) == 1  # another's are untouched


def test_a_member_chooses_email_and_english(client, db):
    f.accident_project(db)
    me = f.member(db, login=True)
    db.commit()
    sign_in(client, me.member_number, f.PASSWORD)
    r = post_form(client, "/me/notifications", {"email": "on", "email_address": "",
                                                "locale": "en"})
    assert r.status_code == 422 and "选择邮件通知时必须填写" in r.text
    db.rollback()
    assert db.get(ContactPreference, me.id) is None  # nothing stored
    r = post_form(client, "/me/notifications", {"email": "on", "sms": "on",
                                                "email_address": "me@example.cn",
                                                "locale": "en"})
    assert r.status_code == 303
    db.rollback()
    prefs = db.scalar(select(ContactPreference).where(ContactPreference.member_id == me.id))
    assert (prefs.sms, prefs.email, prefs.email_address, prefs.locale) == (
        True, True, "me@example.cn", "en")
    assert notify.preferences(db, member_id=me.id).locale == "en"
