"""Surplus allocation on the finance page (/staff/finance#allocation): the policy in force for
a project's next close, its history (adopted by finance, enacted by vote, default), and a
form to adopt a new version whose refusals store nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.dates import Quarter
from mutua.settlement import service as settlement_service
from mutua.settlement.models import AllocationPolicy
from mutua.web.pages.staff_finance import percent, source_of
from tests import factories as f
from tests.integration.settlement.conftest import AFTER_Q1, CODE, build_pool
from tests.integration.web.conftest import post_form, sign_in

PAGE = "/staff/finance"
FORM = f"{PAGE}/allocation"


@pytest.fixture
def finance(client, staff_user):
    sign_in(client, staff_user(Role.FINANCE))
    return client


def _closed(db):
    """The pool with 2025Q1 closed: the next close is 2025Q2."""
    pool = build_pool(db)
    settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                     today=AFTER_Q1)
    db.commit()
    return pool


def _policies(db) -> int:
    db.rollback()  # read what the request committed, not this session's snapshot
    return db.scalar(select(func.count(AllocationPolicy.id))) or 0


def _adopt(client, **fields):
    data = {"project": CODE, "uplift": "60", "aid": "32.5", "services": "7.5",
            "effective_from": "2025Q2", "reason": "会员大会建议增加互助金"}
    data.update(fields)
    return post_form(client, FORM, data, from_page=f"{PAGE}?project={CODE}")


def test_finance_adopts_a_policy_and_the_next_close_uses_it(db, finance):
    pool = _closed(db)
    page = finance.get(f"{PAGE}?project={CODE}")
    assert page.status_code == 200
    assert "结余分配" in page.text and 'id="allocation-history"' in page.text
    assert "70%" in page.text  # the default stored by the first close
    assert 'value="2025Q2"' in page.text  # the next close is offered as the start

    done = _adopt(finance)
    assert done.status_code == 303 and "done=allocation" in done.headers["location"]
    assert _policies(db) == 2
    policy = settlement_service.policy_for(db, project_id=pool.project_id,
                                           quarter=Quarter.parse("2025Q2"))
    assert (policy.uplift, policy.aid, policy.services) == (
        Decimal("0.6"), Decimal("0.325"), Decimal("0.075"))
    assert policy.version == 2 and policy.source == "staff: 会员大会建议增加互助金"
    history = settlement_service.allocation_history(db, project_code=CODE)
    assert history["next_close"] == "2025Q2" and history["in_force"]["id"] == policy.id
    # the close of 2025Q2 would run with these shares
    dry = settlement_service.close_quarter(db, project_code=CODE, quarter="2025Q2",
                                           actor=SYSTEM, dry_run=True,
                                           today=Quarter.parse("2025Q3").end)
    assert dry["allocation_policy"]["version"] == 2
    assert Decimal(dry["allocation_policy"]["aid"]) == Decimal("0.325")

    after = finance.get(done.headers["location"])
    assert 'role="status"' in after.text and "32.5%" in after.text
    assert "会员大会建议增加互助金" in after.text and "财务" in after.text


def test_a_vote_enacted_policy_is_named_by_its_proposal(db, finance):
    pool = build_pool(db)
    settlement_service.adopt_allocation_policy(
        db, project_id=pool.project_id, uplift=Decimal("0.5"), aid=Decimal("0.4"),
        services=Decimal("0.1"), effective_from="2025Q1", source="proposal:42", actor=SYSTEM)
    db.commit()
    page = finance.get(f"{PAGE}?project={CODE}")
    assert page.status_code == 200 and "42" in page.text and "表决" in page.text
    assert "40%" in page.text
    # the default shares never stored are still shown, last
    assert page.text.index("40%") < page.text.index("70%")


@pytest.mark.parametrize("fields,words", [
    ({"uplift": "abc"}, "0 至 100"),
    ({"aid": "-5"}, "0 至 100"),
    ({"services": "120"}, "0 至 100"),
    ({"uplift": "60.125"}, "0 至 100"),
    ({"uplift": "50"}, "90"),  # 50 + 32.5 + 7.5 = 90
    ({"effective_from": "2025-2"}, "2026Q3"),
    ({"effective_from": "2025Q1"}, "2025Q1"),  # already closed
    ({"reason": "   "}, "1 至 50"),
    ({"reason": "理" * 51}, "1 至 50"),
    ({"project": "NO-SUCH"}, "项目"),
])
def test_refused_policies_are_named_and_nothing_is_stored(db, finance, fields, words):
    _closed(db)
    refused = _adopt(finance, **fields)
    assert refused.status_code == 422, refused.text[:300]
    alert = refused.text.split('role="alert"')[1].split("</div>")[0]
    assert words in alert
    for name, value in fields.items():  # the entered values are kept
        if value.strip() and name != "project":
            assert f'value="{value}"' in refused.text
    assert _policies(db) == 1  # only the default the close stored


def test_every_problem_is_told_at_once(db, finance):
    _closed(db)
    refused = _adopt(finance, uplift="x", effective_from="2025Q1", reason="")
    alert = refused.text.split('role="alert"')[1].split("</div>")[0]
    assert alert.count("<li>") == 3
    assert _policies(db) == 1


def test_the_section_reads_in_english(db, finance):
    _closed(db)
    post_form(finance, "/language", {"locale": "en", "next": PAGE}, from_page=PAGE)
    page = finance.get(f"{PAGE}?project={CODE}")
    assert "Surplus allocation" in page.text and "Default shares" in page.text
    refused = _adopt(finance, uplift="50")
    assert refused.status_code == 422
    assert "Shares of the surplus: must add up to 100%, got 90%" in refused.text


@pytest.mark.parametrize("role", [Role.SECRETARY, Role.ACTUARY, Role.UNDERWRITER])
def test_other_roles_are_refused(db, client, staff_user, role):
    build_pool(db)
    sign_in(client, staff_user(role))
    assert post_form(client, FORM, {"project": CODE, "uplift": "60", "aid": "30",
                                    "services": "10", "effective_from": "2025Q2",
                                    "reason": "x"}, from_page="/").status_code == 403
    assert _policies(db) == 0


def test_a_member_is_refused(client, db):
    pool = build_pool(db)
    sign_in(client, pool.members[0].member_number, f.PASSWORD)
    assert client.get(PAGE).status_code == 403
    assert post_form(client, FORM, {"project": CODE}, from_page="/me").status_code == 403
    assert _policies(db) == 0


def test_signed_out_goes_to_sign_in(client):
    page = client.get(PAGE, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/signin")


def test_shares_and_sources_read_plainly():
    assert percent(Decimal("0.7000")) == "70" and percent(Decimal("0.125")) == "12.5"
    assert source_of("proposal:7")["kind"] == "vote"
    assert source_of("default")["kind"] == "default"
    assert source_of("staff")["kind"] == "finance"
    assert source_of("staff: more aid")["reason"] == "more aid"
