"""Member pages: my policies with sums insured and uplifts, joining a product, refusals."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from mutua.dates import today as shanghai_today
from mutua.policies import cover as policy_cover
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in


def _member_signed_in(client, db, **kw):
    m = f.member(db, login=True, **kw)
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    return m


def test_a_member_joins_an_open_product_and_sees_the_policy(client, db, online_payments):
    f.accident_project(db)
    m = _member_signed_in(client, db)
    page = client.get("/me/enrol")
    assert page.status_code == 200 and "测试意外险" in page.text
    confirmed = post_form(client, "/me/enrol/TEST-ACC-1/P1", {"accept_terms": "yes"})
    assert confirmed.status_code == 303
    joined = post_form(client, confirmed.headers["location"], {})
    assert joined.status_code == 303
    policy_page = client.get(joined.headers["location"])
    assert policy_page.status_code == 200
    assert "意外身故" in policy_page.text and "¥100,000.00" in policy_page.text
    home = client.get("/me")
    assert "测试意外险" in home.text and m.member_number in home.text


def test_an_ineligible_member_is_told_why_in_their_language(client, db):
    f.accident_project(db, classes=(1, 2, 3))
    _member_signed_in(client, db, occupation="A0103", birth=date(1950, 1, 1))
    page = client.get("/me/enrol")
    assert "不适合您的产品" in page.text and "覆盖年龄" in page.text
    refused = post_form(client, "/me/enrol/TEST-ACC-1/P1", {"accept_terms": "yes"},
                        from_page="/me/enrol")
    assert refused.status_code == 422
    assert "覆盖年龄" in refused.text


def test_joining_twice_is_refused_plainly(client, db):
    f.accident_project(db)
    m = _member_signed_in(client, db)
    f.policy(db, member=m)
    db.commit()
    refused = post_form(client, "/me/enrol/TEST-ACC-1/P1", {"accept_terms": "yes"},
                        from_page="/me/enrol")
    assert refused.status_code == 409


def test_uplift_history_is_listed(client, db):
    product = f.accident_project(db)
    m = _member_signed_in(client, db)
    p = f.policy(db, member=m)
    death = next(b for b in product.benefits if b.code == "death")
    policy_cover.record_uplifts(
        db, project_id=p.project_id, quarter="2026Q1", effective_from=shanghai_today() - timedelta(1),
        policy_ids=np.array([p.id]), benefit_ids=np.array([death.id]),
        money_fen=np.array([600]), sum_insured_fen=np.array([1_000_000]))
    db.commit()
    page = client.get(f"/me/policies/{p.id}")
    assert "2026Q1" in page.text and "¥10,000.00" in page.text and "¥6.00" in page.text
    assert Decimal("10000.00") + Decimal("100000.00") == Decimal("110000.00")
    assert "¥110,000.00" in page.text


def test_another_members_policy_is_forbidden(client, db):
    f.accident_project(db)
    other = f.member(db)
    theirs = f.policy(db, member=other)
    _member_signed_in(client, db)
    page = client.get(f"/me/policies/{theirs.id}")
    assert page.status_code == 403 and "无权访问" in page.text
    assert client.get("/me/policies/999999").status_code == 404


def test_staff_cannot_open_the_member_portal(client, db, staff_user):
    from mutua.auth.roles import Role

    staff_user(Role.CLAIMS, "handler")
    sign_in(client, "handler")
    assert client.get("/me").status_code == 403
