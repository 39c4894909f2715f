"""A member's renewal offer on their pages (issue 18 items 3 and 6): seen on /me, the
policy page and /me/premiums, renewed in one click and then paid, or declined; auto-renewal
turned on and off; refusals shown and nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mutua.auth.security import SYSTEM
from mutua.catalog import service as catalog_service
from mutua.catalog.schemas import PeriodDef
from mutua.dates import today
from mutua.policies import renewal_offers
from mutua.policies import service as policies_service
from mutua.policies.models import Policy, RenewalOffer
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in


@pytest.fixture
def offered(db, client):
    """A member whose policy has an open renewal offer into P2, whatever today is."""
    start = today() - timedelta(days=300)
    f.accident_project(db, today=start, sale_start=start, sale_end=start + timedelta(days=20))
    catalog_service.create_period(db, product_code="TEST-ACC-1", actor=SYSTEM, period=PeriodDef(
        code="P2", sale_start=today() - timedelta(days=10), sale_end=today() + timedelta(days=60),
        cover_start=today() + timedelta(days=30)))
    m = f.member(db, login=True)
    p = policies_service.enrol(db, member_id=m.id, product_code="TEST-ACC-1", period_code="P1",
                               actor=SYSTEM, on=start)
    db.commit()
    db.expire_all()
    assert renewal_offers.make_offers(db, on=p.cover_end - timedelta(days=20)) == 1
    db.execute(update(RenewalOffer).values(expires_on=today() + timedelta(days=10)))
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    return m, p, db.scalar(select(RenewalOffer))


def test_a_member_renews_in_one_click_and_pays(client, db, offered):
    m, p, offer = offered
    assert "续保" in client.get("/me").text
    page = client.get(f"/me/policies/{p.id}")
    assert f"/me/renewals/{offer.id}/accept" in page.text
    r = post_form(client, f"/me/renewals/{offer.id}/accept", {}, from_page=f"/me/policies/{p.id}")
    assert r.status_code == 303 and r.headers["location"] == "/me/premiums?done=renewed"
    new = db.scalar(select(Policy).where(Policy.renewed_from_id == p.id))
    premiums = client.get("/me/premiums")
    assert new.policy_number in premiums.text and "在线缴费" in premiums.text
    again = post_form(client, f"/me/renewals/{offer.id}/accept", {}, from_page="/me/premiums")
    assert again.status_code == 409 and "没有任何更改" in again.text
    db.expire_all()
    assert len(db.scalars(select(Policy).where(Policy.renewed_from_id == p.id)).all()) == 1


def test_a_member_declines_and_sets_auto_renewal_in_english(client, db, offered):
    m, p, offer = offered
    post_form(client, "/language", {"locale": "en", "next": f"/me/policies/{p.id}"},
              from_page=f"/me/policies/{p.id}")
    page = client.get(f"/me/policies/{p.id}")
    assert "Renew automatically" in page.text and "Do not renew" in page.text
    r = post_form(client, f"/me/policies/{p.id}".replace("policies", "renewals/auto"),
                  {"auto_renew": "true"}, from_page=f"/me/policies/{p.id}")
    assert r.status_code == 303
    db.expire_all()
    assert db.get(Policy, p.id).auto_renew
    r = post_form(client, f"/me/renewals/{offer.id}/decline", {}, from_page=f"/me/policies/{p.id}")
    assert r.status_code == 303
    assert "You chose not to renew" in client.get(r.headers["location"]).text


def test_another_members_offer_is_not_found_and_unchanged(client, db, offered):
    _m, _p, offer = offered
    other = f.member(db, login=True)
    db.commit()
    sign_in(client, other.member_number, f.PASSWORD)
    r = post_form(client, f"/me/renewals/{offer.id}/accept", {}, from_page="/me")
    assert r.status_code == 404
    db.expire_all()
    assert db.get(RenewalOffer, offer.id).state == "offered"
