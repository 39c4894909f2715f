"""What a member owes and paid (/me/premiums): pay a due online through the fake provider
(its signed callback taken as any provider's), and a PDF receipt for each payment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mutua.auth.security import SYSTEM
from mutua.dates import today
from mutua.policies import domain
from mutua.policies import service as policies_service
from mutua.settings import get_settings
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in


@pytest.fixture
def member_owing(db, client):
    f.accident_project(db, today=today(), sale_start=today() - timedelta(days=60))
    m = f.member(db, login=True)
    p = policies_service.enrol(db, member_id=m.id, product_code="TEST-ACC-1", period_code="P1",
                               actor=SYSTEM, on=today() - timedelta(days=3), paid=False)
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    return m, p


@pytest.fixture
def callback_secret(monkeypatch):
    monkeypatch.setenv("MUTUA_PAYMENT_CALLBACK_SECRET", "c" * 40)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_member_pays_online_and_downloads_the_receipt(client, db, member_owing,
                                                        callback_secret):
    m, p = member_owing
    home = client.get("/me")
    assert "待缴保费" in home.text and "/me/premiums" in home.text
    page = client.get("/me/premiums")
    assert page.status_code == 200 and "在线缴费" in page.text
    r = post_form(client, f"/me/premiums/TEST-ACC/{p.policy_number}/pay", {},
                  from_page="/me/premiums")
    assert r.status_code == 303, r.text[-500:]
    db.expire_all()
    assert db.get(type(p), p.id).status == domain.IN_FORCE
    page = client.get("/me/premiums")
    receipt = page.text.split('href="/me/premiums/receipts/')[1].split('"')[0]
    pdf = client.get(f"/me/premiums/receipts/{receipt}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get("/me/premiums/receipts/999999.pdf").status_code == 404


def test_without_the_callback_secret_nothing_is_paid(client, db, member_owing, monkeypatch):
    monkeypatch.delenv("MUTUA_PAYMENT_CALLBACK_SECRET", raising=False)
    get_settings.cache_clear()
    m, p = member_owing
    r = post_form(client, f"/me/premiums/TEST-ACC/{p.policy_number}/pay", {},
                  from_page="/me/premiums")
    assert r.status_code == 422
    db.expire_all()
    assert db.get(type(p), p.id).status == domain.UNPAID
    get_settings.cache_clear()


def test_a_member_may_not_pay_another_members_due(client, db, member_owing, callback_secret):
    other = policies_service.enrol(db, member_id=f.member(db).id, product_code="TEST-ACC-1",
                                   period_code="P1", actor=SYSTEM, paid=False)
    db.commit()
    r = post_form(client, f"/me/premiums/TEST-ACC/{other.policy_number}/pay", {},
                  from_page="/me/premiums")
    assert r.status_code == 422
    db.expire_all()
    assert db.get(type(other), other.id).status == domain.UNPAID
