"""Refused input on a Chinese page reads in Chinese: the form's label, then the rule.

The services name problems in English for the API (and the API still answers so); the staff
and member pages show the same problems in the reader's language.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.claims.models import Claim
from mutua.dates import today as shanghai_today
from mutua.governance.models import Meeting, Proposal
from mutua.health import service as health_service
from mutua.health.models import Observation
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in

ALERT = re.compile(r'role="alert">(.*?)</div>', re.S)
PROBLEMS = re.compile(r'<ul class="problems">(.*?)</ul>', re.S)


def shown(html: str, box: re.Pattern = ALERT) -> str:
    """The problem box of a page, as text."""
    found = box.search(html)
    assert found, "the page shows no problem"
    return re.sub(r"<[^>]+>", " ", found.group(1))


def _count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


@pytest.fixture
def as_role(client, staff_user):
    def signed_in(role: Role, locale: str = "zh_CN"):
        sign_in(client, staff_user(role))
        if locale != "zh_CN":
            post_form(client, "/language", {"locale": locale, "next": "/staff"},
                      from_page="/staff/governance")
        return client

    return signed_in


MOTION = {"title_zh": "", "title_en": "Annual report", "body_zh": "", "body_en": "",
          "project": "", "quorum": "5", "days": "7"}


def test_a_refused_motion_is_named_in_chinese_on_the_chinese_page(db, as_role):
    secretary = as_role(Role.SECRETARY)
    refused = post_form(secretary, "/staff/governance/proposals", MOTION,
                        from_page="/staff/governance")
    assert refused.status_code == 422
    box = shown(refused.text)
    assert "中文标题：须为 1 至 200 个字" in box
    assert "须为 0 至 1 之间的小数比例，如 0.2" in box
    assert "must" not in box and "title_zh" not in box
    assert _count(db, Proposal) == 0


def test_the_same_refusal_reads_in_english_on_the_english_page(db, as_role):
    secretary = as_role(Role.SECRETARY, locale="en")
    refused = post_form(secretary, "/staff/governance/proposals", MOTION,
                        from_page="/staff/governance")
    assert refused.status_code == 422
    assert "Title in Chinese: must be 1 to 200 characters" in shown(refused.text)


def test_a_bad_meeting_time_and_a_bad_allocation_read_in_chinese(db, as_role):
    f.accident_project(db)
    db.commit()
    secretary = as_role(Role.SECRETARY)
    meeting = post_form(secretary, "/staff/governance/meetings", {
        "title_zh": "会员恳谈会", "title_en": "Members' meeting", "mode": "in_person",
        "place": "深圳", "starts_at": "next tuesday"}, from_page="/staff/governance")
    assert meeting.status_code == 422
    assert "开始时间（北京时间）：须为日期和时间" in shown(meeting.text)
    assert _count(db, Meeting) == 0
    allocation = post_form(secretary, "/staff/governance/proposals/allocation", {
        "title_zh": "盈余分配调整", "title_en": "Surplus allocation", "project": "TEST-ACC",
        "uplift": "60", "aid": "30", "services": "20", "effective_from": "2099Q1"},
        from_page="/staff/governance")
    assert allocation.status_code == 422
    assert "合计须为 100%，现为 110" in shown(allocation.text)
    assert _count(db, Proposal) == 0


def test_a_bad_quarter_on_the_close_page_reads_in_chinese(db, as_role):
    f.accident_project(db)
    db.commit()
    finance = as_role(Role.FINANCE)
    refused = post_form(finance, "/staff/close/preview", {"project": "TEST-ACC",
                                                          "quarter": "2026Q9"},
                        from_page="/staff/close")
    assert refused.status_code == 422
    box = shown(refused.text)
    assert "季度：格式须如 2026Q3，现为" in box and "must" not in box


def test_a_request_the_form_could_not_send_reads_in_chinese_on_the_error_page(db, as_role):
    secretary = as_role(Role.SECRETARY)
    refused = post_form(secretary, "/staff/governance/proposals", {**MOTION, "days": "0"},
                        from_page="/staff/governance")
    assert refused.status_code == 422
    # The governance page again, not a bare error page, with the problem above the form.
    assert "未保存任何内容" in refused.text and 'action="/staff/governance/proposals"' in refused.text
    box = shown(refused.text)
    assert "开放天数：不得小于 1" in box and "Input should" not in box


def test_a_refused_claim_field_reads_in_chinese_on_the_member_page(client, db):
    f.accident_project(db)
    m = f.member(db, login=True)
    p = f.policy(db, member=m, on=shanghai_today() - timedelta(days=20))
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    refused = post_form(client, "/me/claims/new", {
        "cover": f"{p.id}|medical", "event_type": "accident",
        "event_date": (shanghai_today() - timedelta(days=2)).isoformat(),
        "invoice_amount": "100", "disability_grade": "x"}, from_page="/me/claims/new")
    assert refused.status_code == 422
    box = shown(refused.text)
    assert "伤残等级（1至10级，如已鉴定）：须为整数" in box and "must" not in box
    assert _count(db, Claim) == 0


def test_a_refused_health_result_reads_in_chinese_on_the_member_page(client, db):
    m = f.member(db, birth=date(1963, 1, 1), login=True)
    db.flush()
    health_service.record(db, actor=SYSTEM, items=[
        {"member_id": m.id, "loinc": "2160-0", "value": 1.7, "unit": "mg/dL",
         "effective_at": "2025-09-01T00:00:00+08:00"}])
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    before = _count(db, Observation)
    again = post_form(client, "/me/health/results", {"kind": "creatinine|mg/dL", "value": "1.7",
                                                      "taken_on": "2025-09-01"},
                      from_page="/me/health")
    assert again.status_code == 422
    box = shown(again.text)
    assert "与已存的结果重复" in box and "duplicate" not in box
    assert _count(db, Observation) == before


def test_the_api_still_answers_in_english(client, db):
    f.accident_project(db)
    db.commit()
    headers = f.staff_headers(client, db, Role.FINANCE)
    answer = client.post("/api/v1/settlement/closes", headers=headers,
                         json={"project": "TEST-ACC", "quarter": "2026Q9", "dry_run": True})
    assert answer.status_code == 422
    assert "must look like 2026Q3" in answer.text
