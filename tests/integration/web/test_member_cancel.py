"""A member cancels their own policy (退保): the refund quote, the confirmation, refusals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from mutua.audit.models import AuditEvent
from mutua.auth.roles import Role
from mutua.dates import today as shanghai_today
from mutua.policies import domain
from mutua.policies.models import Policy, PremiumPayment
from tests import factories as f
from tests.integration.web.conftest import csrf_of, post_form, sign_in

PREMIUM = Decimal("36.50")


def _signed_in_member(client, db):
    m = f.member(db, login=True)
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    return m


def _refund_rows(db, policy_id: int) -> list[PremiumPayment]:
    return list(db.scalars(select(PremiumPayment).where(PremiumPayment.policy_id == policy_id,
                                                        PremiumPayment.kind == "refund")))


def test_within_the_cooling_off_period_the_whole_premium_comes_back(client, db):
    f.accident_project(db)
    m = _signed_in_member(client, db)
    p = f.policy(db, member=m, on=shanghai_today() - timedelta(days=5))  # cover began 4 days ago
    db.commit()
    policy_page = client.get(f"/me/policies/{p.id}")
    assert f'action="/me/policies/{p.id}/cancel"' in policy_page.text and "退保" in policy_page.text
    quote = client.get(f"/me/policies/{p.id}/cancel")
    assert quote.status_code == 200
    assert "犹豫期" in quote.text and "¥36.50" in quote.text
    assert 'name="csrf_token"' in quote.text and 'name="reason"' in quote.text
    # the quote stores nothing
    db.expire_all()
    assert db.get(Policy, p.id).status == "in_force" and not _refund_rows(db, p.id)

    done = post_form(client, f"/me/policies/{p.id}/cancel", {"reason": "换了工作"},
                     from_page=f"/me/policies/{p.id}/cancel")
    assert done.status_code == 303
    assert done.headers["location"] == f"/me/policies/{p.id}?done=cancelled"
    after = client.get(done.headers["location"])
    assert "您的保单已退保" in after.text and "¥36.50" in after.text
    assert f'action="/me/policies/{p.id}/cancel"' not in after.text

    db.expire_all()
    stored = db.get(Policy, p.id)
    assert stored.status == "cancelled" and stored.refund == PREMIUM
    assert [r.amount for r in _refund_rows(db, p.id)] == [-PREMIUM]
    assert _refund_rows(db, p.id)[0].reference == "换了工作"
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "policy.cancel")).all()
    assert [a.entity_id for a in audit] == [str(p.id)]


def test_after_the_cooling_off_period_the_unearned_premium_comes_back(client, db):
    today = shanghai_today()
    f.accident_project(db, sale_start=today - timedelta(days=200))
    m = _signed_in_member(client, db)
    p = f.policy(db, member=m, on=today - timedelta(days=100))
    db.commit()
    expected = domain.refund_on_cancel(premium=p.premium, enrolled_on=p.enrolled_on,
                                       cover_start=p.cover_start, cover_end=p.cover_end,
                                       cancel_on=today)
    assert not expected.cooling_off and Decimal(0) < expected.amount < PREMIUM
    shown = f"¥{expected.amount:,.2f}"
    quote = client.get(f"/me/policies/{p.id}/cancel")
    assert quote.status_code == 200 and shown in quote.text and "尚未保障的天数" in quote.text
    done = post_form(client, f"/me/policies/{p.id}/cancel", {},
                     from_page=f"/me/policies/{p.id}/cancel")
    assert done.status_code == 303
    assert shown in client.get(done.headers["location"]).text
    db.expire_all()
    stored = db.get(Policy, p.id)
    assert stored.refund == expected.amount and stored.cover_end == today


def test_the_quote_reads_in_english_too(client, db):
    f.accident_project(db)
    m = _signed_in_member(client, db)
    p = f.policy(db, member=m, on=shanghai_today() - timedelta(days=5))
    db.commit()
    post_form(client, "/language", {"locale": "en", "next": f"/me/policies/{p.id}/cancel"},
              from_page=f"/me/policies/{p.id}")
    quote = client.get(f"/me/policies/{p.id}/cancel")
    assert "What you would get back" in quote.text and "cooling-off period" in quote.text
    assert "CN¥36.50" in quote.text
    done = post_form(client, f"/me/policies/{p.id}/cancel", {},
                     from_page=f"/me/policies/{p.id}/cancel")
    after = client.get(done.headers["location"])
    assert "Your policy is cancelled. CN¥36.50 will be refunded to you." in after.text


def test_a_policy_no_longer_in_force_cannot_be_cancelled_again(client, db):
    f.accident_project(db)
    m = _signed_in_member(client, db)
    p = f.policy(db, member=m)
    db.commit()
    page = client.get(f"/me/policies/{p.id}/cancel")
    token = csrf_of(page.text)
    assert client.post(f"/me/policies/{p.id}/cancel", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    # the button is gone, the quote page and a second POST say why, nothing changes
    assert f'action="/me/policies/{p.id}/cancel"' not in client.get(f"/me/policies/{p.id}").text
    again_page = client.get(f"/me/policies/{p.id}/cancel")
    assert again_page.status_code == 409 and "不能退保" in again_page.text
    again = client.post(f"/me/policies/{p.id}/cancel", data={"csrf_token": token},
                        follow_redirects=False)
    assert again.status_code == 409 and "不能退保" in again.text
    db.expire_all()
    assert db.get(Policy, p.id).refund == PREMIUM and len(_refund_rows(db, p.id)) == 1


def test_another_members_policy_cannot_be_quoted_or_cancelled(client, db):
    """Another member's policy is 404, as the API answers: a member may not learn it exists."""
    f.accident_project(db)
    other = f.member(db)
    theirs = f.policy(db, member=other)
    _signed_in_member(client, db)
    assert client.get(f"/me/policies/{theirs.id}/cancel").status_code == 404
    refused = post_form(client, f"/me/policies/{theirs.id}/cancel", {}, from_page="/me")
    assert refused.status_code == 404
    assert post_form(client, "/me/policies/999999/cancel", {}, from_page="/me").status_code == 404
    db.expire_all()
    assert db.get(Policy, theirs.id).status == "in_force" and not _refund_rows(db, theirs.id)


def test_signed_out_and_staff_are_kept_out(client, db, staff_user):
    f.accident_project(db)
    p = f.policy(db, member=f.member(db))
    db.commit()
    signed_out = client.get(f"/me/policies/{p.id}/cancel", follow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/signin")
    sign_in(client, staff_user(Role.UNDERWRITER))
    assert client.get(f"/me/policies/{p.id}/cancel").status_code == 403
    assert post_form(client, f"/me/policies/{p.id}/cancel", {},
                     from_page="/staff/catalog").status_code == 403
    db.expire_all()
    assert db.get(Policy, p.id).status == "in_force"


def test_the_terms_cancellation_fee_is_quoted_deducted_and_kept_in_the_pool(client, db):
    from mutua.catalog.models import Product
    from mutua.ledger import service as ledger_service

    today = shanghai_today()
    product = f.accident_project(db, sale_start=today - timedelta(days=200))
    product.cancellation_fee, product.cancellation_fee_rate = Decimal("2"), Decimal("0.1")
    m = _signed_in_member(client, db)
    p = f.policy(db, member=m, on=today - timedelta(days=100))
    db.commit()
    plain = domain.refund_on_cancel(premium=p.premium, enrolled_on=p.enrolled_on,
                                    cover_start=p.cover_start, cover_end=p.cover_end,
                                    cancel_on=today)
    fee = domain.cancellation_deduction(plain.amount, fee=Decimal("2"), fee_rate=Decimal("0.1"))
    quote = client.get(f"/me/policies/{p.id}/cancel")
    assert f"¥{plain.amount - fee:,.2f}" in quote.text and f"¥{fee:,.2f}" in quote.text
    assert "退保手续费" in quote.text
    post_form(client, f"/me/policies/{p.id}/cancel", {}, from_page=f"/me/policies/{p.id}/cancel")
    db.expire_all()
    stored = db.get(Policy, p.id)
    assert stored.refund == plain.amount - fee  # the fee is earned as premium by the close
    assert db.get(Product, product.id).cancellation_fee == Decimal("2")
    for tb in ledger_service.trial_balance(db):
        assert tb.total == 0
