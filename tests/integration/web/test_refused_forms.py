"""A refused form comes back as typed, with every problem beside its own field (issue 20.1):
never a bare error page that loses the input."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from mutua.auth.roles import Role
from mutua.dates import today as shanghai_today
from mutua.governance.models import Proposal
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in


def _field_error(html: str, name: str) -> str:
    """The error line the page shows just before the field named ``name``."""
    match = re.search(r'<p class="field-error" id="[^"]+">([^<]*)</p>\s*<(?:input|textarea|select)'
                      r'[^>]*name="' + re.escape(name) + '"', html)
    assert match, f"no error beside {name}"
    return match.group(1)


def _value_of(html: str, name: str) -> str:
    match = re.search(r'<input[^>]*name="' + re.escape(name) + r'"[^>]*value="([^"]*)"', html)
    assert match, f"no value in {name}"
    return match.group(1)


def test_a_new_motion_with_no_title_and_a_bad_quorum_keeps_what_was_typed(client, db,
                                                                           staff_user):
    sign_in(client, staff_user(Role.SECRETARY))
    refused = post_form(client, "/staff/governance/proposals",
                        {"title_zh": "", "title_en": "Garden day", "body_zh": "在花园",
                         "quorum": "abc", "days": "7"}, from_page="/staff/governance")
    assert refused.status_code == 422
    html = refused.text
    assert "<h1>治理</h1>" in html or "治理" in html  # the governance page, not an error page
    assert _value_of(html, "title_en") == "Garden day"
    assert "在花园</textarea>" in html
    assert _field_error(html, "quorum")
    assert _field_error(html, "title_zh")
    assert "地址或链接：" not in html  # no problem under another form's label
    assert db.scalar(select(func.count()).select_from(Proposal)) == 0


def test_an_empty_lab_result_is_shown_beside_each_field(client, db):
    m = f.member(db, birth=date(1963, 1, 1), login=True)
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    refused = post_form(client, "/me/health/results",
                        {"kind": "creatinine|umol/L", "value": "", "taken_on": ""},
                        from_page="/me/health")
    assert refused.status_code == 422
    assert _field_error(refused.text, "value")
    assert _field_error(refused.text, "taken_on")
    assert 'value="creatinine|umol/L" selected' in refused.text


@pytest.mark.parametrize("description", ["x" * 2001])
def test_an_over_long_claim_description_keeps_the_rest_of_the_report(client, db, description):
    f.accident_project(db)
    m = f.member(db, login=True)
    f.policy(db, member=m, on=shanghai_today() - timedelta(days=20))
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    page = client.get("/me/claims/new")
    cover = re.search(r'<option value="([^"]+)"', page.text).group(1)
    refused = post_form(client, "/me/claims/new",
                        {"cover": cover, "event_type": "accident",
                         "event_date": (shanghai_today() - timedelta(days=2)).isoformat(),
                         "place": "深圳", "description": description, "invoice_amount": "-5"})
    assert refused.status_code == 422
    assert _value_of(refused.text, "place") == "深圳"
    assert _field_error(refused.text, "description")
    assert _field_error(refused.text, "invoice_amount") == "不得为负数"
