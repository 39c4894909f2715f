"""A member's quarterly statements read by staff: listed on the staff member page for finance
and actuaries, each opening the same statement the member reads at /me/statements; every
read is audited; other roles neither see the list nor reach the page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mutua.audit.models import AuditEvent
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.settlement import service as settlement_service
from tests import factories as f
from tests.integration.settlement.conftest import AFTER_Q1, CODE, build_pool
from tests.integration.web.conftest import post_form, sign_in


def _closed(db):
    pool = build_pool(db)
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    db.commit()
    return pool


def _reads(db, member_id: int) -> list[str]:
    db.rollback()
    return list(db.scalars(select(AuditEvent.actor_username).where(
        AuditEvent.action == "settlement.member_statement.read",
        AuditEvent.entity_id == str(member_id))))


@pytest.mark.parametrize("role", [Role.FINANCE, Role.ACTUARY, Role.ADMIN])
def test_finance_and_actuaries_list_and_open_a_members_statement(db, client, staff_user,
                                                                 role):
    pool = _closed(db)
    member = pool.members[0]
    sign_in(client, staff_user(role))
    page = client.get(f"/staff/members/{member.id}")
    assert page.status_code == 200 and 'id="member-statements"' in page.text
    link = f"/staff/members/{member.id}/statements/{CODE}/2025Q1"
    assert link in page.text and "季度账单" in page.text

    statement = client.get(link)
    assert statement.status_code == 200
    assert "项目资金池本季度的收支与留存" in statement.text  # the member's page's own sections
    assert member.member_number in statement.text and "/me/" not in statement.text
    # the same figures the member reads
    mine = settlement_service.member_statement(db, member_id=member.id, quarter="2025Q1",
                                               actor=SYSTEM)["quarters"][0]
    pool_figures = settlement_service.project_statement(db, project_code=CODE,
                                                        quarter="2025Q1")
    from decimal import Decimal

    from mutua.web.i18n import format_money, set_locale

    set_locale("zh_CN")
    for value in (mine["contribution"], pool_figures["earned_premium"],
                  pool_figures["distributable"]):
        assert format_money(Decimal(value)) in statement.text
    assert _reads(db, member.id).count(f"{role.value}-user") == 2  # list and statement


def test_the_member_and_staff_see_the_same_statement(db, client, staff_user):
    pool = _closed(db)
    member = pool.members[0]
    sign_in(client, member.member_number, f.PASSWORD)
    own = client.get(f"/me/statements/{CODE}/2025Q1").text
    client.cookies.clear()
    sign_in(client, staff_user(Role.FINANCE))
    staff = client.get(f"/staff/members/{member.id}/statements/{CODE}/2025Q1").text

    def rows(html):
        return html.split('id="pool-heading"')[1].split('id="mine-heading"')[0]
    assert rows(own) == rows(staff)


def test_a_quarter_or_project_without_a_statement_is_not_found(db, client, staff_user):
    pool = _closed(db)
    member = pool.members[0]
    sign_in(client, staff_user(Role.FINANCE))
    base = f"/staff/members/{member.id}/statements"
    assert client.get(f"{base}/NOPE/2025Q1").status_code == 404
    assert client.get(f"{base}/{CODE}/2025Q2").status_code == 404
    assert client.get(f"/staff/members/999999/statements/{CODE}/2025Q1").status_code == 404


def test_a_member_without_closed_quarters_shows_an_empty_list(db, client, staff_user):
    f.accident_project(db)
    m = f.member(db)
    db.commit()
    sign_in(client, staff_user(Role.FINANCE))
    page = client.get(f"/staff/members/{m.id}")
    assert page.status_code == 200 and "尚无已结算的季度" in page.text


def test_the_statement_reads_in_english(db, client, staff_user):
    pool = _closed(db)
    member = pool.members[0]
    sign_in(client, staff_user(Role.ACTUARY))
    post_form(client, "/language", {"locale": "en", "next": "/staff"}, from_page="/staff")
    page = client.get(f"/staff/members/{member.id}")
    assert "Quarterly statements" in page.text and "Premium earned" in page.text
    statement = client.get(f"/staff/members/{member.id}/statements/{CODE}/2025Q1")
    assert "What came to the member" in statement.text
    assert "Premium earned by the pool" in statement.text


@pytest.mark.parametrize("role", [Role.UNDERWRITER, Role.CLAIMS, Role.CARE])
def test_other_staff_see_no_statements(db, client, staff_user, role):
    pool = _closed(db)
    member = pool.members[0]
    sign_in(client, staff_user(role))
    page = client.get(f"/staff/members/{member.id}")
    assert page.status_code == 200 and 'id="member-statements"' not in page.text
    statement = client.get(f"/staff/members/{member.id}/statements/{CODE}/2025Q1")
    assert statement.status_code == 403
    assert _reads(db, member.id) == []


def test_the_secretary_is_refused(db, client, staff_user):
    pool = _closed(db)
    sign_in(client, staff_user(Role.SECRETARY))
    member = pool.members[0]
    assert client.get(f"/staff/members/{member.id}").status_code == 403
    assert client.get(
        f"/staff/members/{member.id}/statements/{CODE}/2025Q1").status_code == 403


def test_a_member_cannot_reach_another_members_statement(db, client):
    pool = _closed(db)
    me, other = pool.members[0], pool.members[1]
    sign_in(client, me.member_number, f.PASSWORD)
    for who in (me, other):
        assert client.get(
            f"/staff/members/{who.id}/statements/{CODE}/2025Q1").status_code == 403


def test_signed_out_goes_to_sign_in(db, client):
    pool = _closed(db)
    page = client.get(f"/staff/members/{pool.members[0].id}/statements/{CODE}/2025Q1",
                      follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/signin")
