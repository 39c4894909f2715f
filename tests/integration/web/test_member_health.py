"""Kidney health page: plain-words stage and risk, advice, chart data, adding a result."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from mutua.audit.models import AuditEvent
from mutua.auth.security import SYSTEM
from mutua.health import service as health_service
from tests import factories as f
from tests.integration.web.conftest import post_form, sign_in


def _patient(client, db):
    m = f.member(db, birth=date(1963, 1, 1), login=True)
    db.flush()
    health_service.record(db, actor=SYSTEM, items=[
        {"member_id": m.id, "loinc": "9318-7", "value": 900, "unit": "mg/g",
         "effective_at": "2025-01-10T09:00:00+08:00"},
        {"member_id": m.id, "loinc": "2160-0", "value": 1.0, "unit": "mg/dL",
         "effective_at": "2025-01-10T09:00:00+08:00"},
        {"member_id": m.id, "loinc": "14682-9", "value": 180, "unit": "umol/L",
         "effective_at": "2025-06-10T09:00:00+08:00"}])
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    return m


def test_stage_and_risk_are_explained_and_the_chart_is_drawn_locally(client, db):
    _patient(client, db)
    page = client.get("/me/health")
    assert page.status_code == 200
    assert "G4" in page.text and "肾脏滤过功能严重下降" in page.text
    assert "极高风险" in page.text
    assert 'src="/assets/plotly.min.js"' in page.text and 'data-chart="egfr-chart-data"' in page.text
    assert "cdn" not in page.text.lower()
    js = client.get("/assets/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000


def test_reading_the_page_is_audited(client, db):
    m = _patient(client, db)
    client.get("/me/health")
    reads = db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "health.read.patient", AuditEvent.entity_id == str(m.id)))
    assert reads >= 1


def test_a_member_adds_a_result_and_a_bad_one_is_explained(client, db):
    _patient(client, db)
    added = post_form(client, "/me/health/results", {"kind": "creatinine|umol/L", "value": "150",
                                                      "taken_on": "2025-09-01"},
                      from_page="/me/health")
    assert added.status_code == 303
    page = client.get("/me/health")
    assert "2025年9月1日" in page.text
    bad = post_form(client, "/me/health/results", {"kind": "creatinine|mg/dL", "value": "50",
                                                    "taken_on": "2025-09-02"},
                    from_page="/me/health")
    assert bad.status_code == 422 and "化验单上的数值" in bad.text


# KDIGO 2012 Table 5 / KDIGO 2024 Figure 2: A1 is below 3 mg/mmol, so a member's 3 mg/mmol
# reads as A2 (26.52 mg/g once converted, which the mg/g limits would call A1).
@pytest.mark.parametrize(("acr", "a", "words"), [
    ("2.99", "A1", "尿中几乎没有蛋白漏出"), ("3", "A2", "尿中漏出中等量蛋白")])
def test_a_ratio_a_member_types_in_mg_mmol_is_staged_in_mg_mmol(client, db, acr, a, words):
    m = f.member(db, birth=date(1966, 5, 1), sex="M", login=True)
    db.commit()
    sign_in(client, m.member_number, f.PASSWORD)
    for kind, value in (("acr|mg/mmol", acr), ("creatinine|mg/dL", "1.0")):
        added = post_form(client, "/me/health/results",
                          {"kind": kind, "value": value, "taken_on": "2025-09-01"},
                          from_page="/me/health")
        assert added.status_code == 303
    page = client.get("/me/health")
    assert f"G2 {a}" in page.text and words in page.text
