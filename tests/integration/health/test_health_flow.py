"""Kidney monitoring through the services, the HTTP API and the CLI, on a real database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from mutua.audit.models import AuditEvent
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.catalog import service as catalog_service
from mutua.errors import Forbidden, ValidationFailed
from mutua.health import coordination as health_coordination
from mutua.health import patient_view as health_view
from mutua.health import patients as health_patients
from mutua.health import service
from mutua.health import underwriting as health_underwriting
from mutua.health.models import Alert, KidneyResult, Observation
from tests import factories
from tests.jobs import result as job_result

CKD_YAML = Path(__file__).parents[3] / "src/mutua/catalog/products/ckd.yaml"

# The kidney products' health declaration, answered with none of the refused risks.
NO_RISKS = {"rrt_planned": "no", "in_hospital": "no"}


def obs(member_id, code, value, unit, when):
    return {"member_id": member_id, "loinc": code, "value": value, "unit": unit,
            "effective_at": when}


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_new_creatinine_gives_egfr_stage_risk_alerts_advice(db):
    m = factories.member(db, birth=date(1963, 1, 1), sex="F")
    db.flush()
    out = service.record(db, actor=SYSTEM, items=[
        obs(m.id, "9318-7", 900, "mg/g", "2025-01-10T09:00:00+08:00"),
        obs(m.id, "2160-0", 1.0, "mg/dL", "2025-01-10T09:00:00+08:00"),
        obs(m.id, "14682-9", 180, "umol/L", "2025-06-10T09:00:00+08:00"),
        obs(m.id, "8480-6", 142, "mm[Hg]", "2025-06-10T09:00:00+08:00"),
    ])
    assert out["accepted"] == 4
    first, second = out["results"]
    assert first["g_category"] == "G2" and first["a_category"] == "A3"
    assert first["risk"] == "high"
    # 180 umol/L = 2.04 mg/dL in a 62-year-old woman: about 27 -> G4
    assert second["g_category"] == "G4" and second["risk"] == "very high"
    assert second["risk_2y"] > 0.10 and second["slope"] < -5
    rules = {a["rule"] for a in out["alerts"]}
    assert {"egfr_drop_20", "kdigo_progression", "systolic_above_target",
            "kfre_2y_10"} <= rules
    advice = {a["code"] for a in out["advice"][str(m.id)]}
    assert {"blood_pressure", "acei_arb", "nephrology", "testing"} <= advice


def test_bad_results_refused_nothing_stored(db):
    m = factories.member(db)
    db.flush()
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    cases = [
        (obs(m.id, "2160-0", 0, "mg/dL", "2025-01-01"), "value"),
        (obs(m.id, "2160-0", -1, "mg/dL", "2025-01-01"), "value"),
        (obs(m.id, "2160-0", 50, "mg/dL", "2025-01-01"), "value"),
        (obs(m.id, "2160-0", 1, "mg/L2", "2025-01-01"), "unit"),
        (obs(m.id, "1234-5", 1, "mg/dL", "2025-01-01"), "code"),
        (obs(m.id, "2160-0", 1, "mg/dL", future), "effective"),
    ]
    for item, field in cases:
        good = obs(m.id, "2160-0", 1.1, "mg/dL", "2025-02-01")
        with pytest.raises(ValidationFailed) as exc:
            service.record(db, actor=SYSTEM, items=[good, item])
        assert exc.value.problems[0].field == f"items[1].{field}", item
    assert count(db, Observation) == 0


def test_minor_and_duplicates(db):
    kid = factories.member(db, birth=date(2012, 3, 1))
    adult = factories.member(db)
    db.flush()
    with pytest.raises(ValidationFailed) as exc:
        service.record(db, actor=SYSTEM, items=[obs(kid.id, "2160-0", 0.6, "mg/dL",
                                                      "2025-01-01")])
    assert "under 18" in exc.value.problems[0].rule
    item = obs(adult.id, "2160-0", 1.1, "mg/dL", "2025-02-01T08:00:00+08:00")
    service.record(db, actor=SYSTEM, items=[item])
    with pytest.raises(ValidationFailed) as exc:
        service.record(db, actor=SYSTEM, items=[item])
    assert "duplicate" in exc.value.problems[0].rule
    assert count(db, Observation) == 1


def test_caller_who_may_not_see_patient(db):
    m = factories.member(db)
    other = factories.member(db)
    care1 = factories.staff(db, Role.CARE)
    care2 = factories.staff(db, Role.CARE)
    db.flush()
    as_member = Principal(user_id=999, username="x", role=Role.MEMBER, member_id=other.id)
    with pytest.raises(Forbidden):
        service.record(db, actor=as_member, items=[obs(m.id, "2160-0", 1, "mg/dL", "2025-01-01")])
    health_coordination.assign(db, actor=SYSTEM, member_id=m.id, coordinator_user_id=care1.id)
    p2 = Principal(user_id=care2.id, username=care2.username, role=Role.CARE)
    with pytest.raises(Forbidden):
        health_view.patient_view(db, actor=p2, member_id=m.id)
    p1 = Principal(user_id=care1.id, username=care1.username, role=Role.CARE)
    view = health_view.patient_view(db, actor=p1, member_id=m.id)
    assert view["member_id"] == m.id
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "health.read.patient")) == 1


FHIR_BUNDLE = {
    "resourceType": "Bundle", "type": "collection",
    "entry": [
        {"resource": {"resourceType": "Observation", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
                      "subject": {"reference": "Patient/{number}"},
                      "effectiveDateTime": "2025-03-01T08:00:00+08:00",
                      "valueQuantity": {"value": 1.6, "unit": "mg/dL", "code": "mg/dL"}}},
        {"resource": {"resourceType": "Observation", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                      "subject": {"reference": "Patient/{number}"},
                      "effectiveDateTime": "2025-03-01T08:05:00+08:00",
                      "component": [
                          {"code": {"coding": [{"system": "http://loinc.org",
                                                "code": "8480-6"}]},
                           "valueQuantity": {"value": 128, "code": "mm[Hg]"}},
                          {"code": {"coding": [{"system": "http://loinc.org",
                                                "code": "8462-4"}]},
                           "valueQuantity": {"value": 82, "code": "mm[Hg]"}}]}},
        {"resource": {"resourceType": "Observation", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
                      "subject": {"reference": "Patient/{number}"},
                      "effectiveDateTime": "2025-03-01T08:00:00+08:00"}},
        {"resource": {"resourceType": "Observation", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "99999-9"}]},
                      "subject": {"reference": "Patient/{number}"},
                      "effectiveDateTime": "2025-03-01T08:00:00+08:00",
                      "valueQuantity": {"value": 3, "unit": "mg/dL"}}},
    ],
}


def _cli(engine, args):
    import os

    from mutua.cli import app
    from mutua.settings import get_settings
    os.environ["MUTUA_DATABASE_URL"] = engine.test_url
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, args)
    finally:
        os.environ.pop("MUTUA_DATABASE_URL", None)
        get_settings.cache_clear()


def test_fhir_and_csv_import_cli(engine, db, tmp_path):
    m = factories.member(db, birth=date(1960, 1, 1), sex="M")
    db.commit()
    text = json.dumps(FHIR_BUNDLE).replace("{number}", m.member_number)
    f = tmp_path / "bundle.json"
    f.write_text(text)
    r = _cli(engine, ["health", "import", str(f), "--format", "fhir", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["accepted"] == 3  # creatinine, systolic, diastolic
    reasons = {x["record"]: x["reason"] for x in out["rejected"]}
    assert reasons == {2: "missing or not a number", 3: "unknown LOINC code"}
    csv_file = tmp_path / "lab.csv"
    csv_file.write_text(
        "member_number,loinc,value,unit,effective_at\n"
        f"{m.member_number},2160-0,1.8,mg/dL,2025-06-01\n"
        f"{m.member_number},2160-0,1.8,mg/dL,2025-06-01\n"
        f"{m.member_number},9318-7,45,mg/mmol,2025-06-01\n"
        "M999999999,2160-0,1.2,mg/dL,2025-06-01\n"
        f"{m.member_number},2160-0,50,mg/dL,2025-06-02\n")
    r = _cli(engine, ["health", "import", str(csv_file), "--format", "csv", "--json"])
    out = json.loads(r.stdout)
    assert out["accepted"] == 2
    assert [x["record"] for x in out["rejected"]] == [3, 5, 6]
    db.expire_all()
    assert count(db, KidneyResult) == 2


def test_invalid_fhir_refused_whole(engine, tmp_path):
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({"resourceType": "Bundle", "type": "not-a-type", "entry": 5}))
    r = _cli(engine, ["health", "import", str(f), "--format", "fhir", "--json"])
    assert isinstance(r.exception, ValidationFailed)
    assert r.exception.problems[0].field == "file"


def _kidney_project(db):
    defn = catalog_service.parse_definition(CKD_YAML.read_text())
    catalog_service.load_definition(db, defn=defn, actor=SYSTEM)


def test_underwriting_from_own_labs(db):
    _kidney_project(db)
    m = factories.member(db, birth=date(1966, 5, 1), sex="M")
    db.flush()
    product = catalog_service.get_product(db, code="KID-G3A-BASIC")
    on = date(2025, 6, 30)
    with pytest.raises(ValidationFailed) as exc:
        health_underwriting.underwrite(db, member_id=m.id, product=product, on=on)
    assert exc.value.problems[0].field == "labs"
    # labs older than 90 days do not count
    service.record(db, actor=SYSTEM, items=[
        obs(m.id, "2160-0", 1.5, "mg/dL", "2025-03-01"), obs(m.id, "9318-7", 60, "mg/g",
                                                             "2025-03-01")])
    with pytest.raises(ValidationFailed) as exc:
        health_underwriting.underwrite(db, member_id=m.id, product=product, on=on)
    assert "90 days" in exc.value.problems[0].rule
    service.record(db, actor=SYSTEM, items=[
        obs(m.id, "2160-0", 1.5, "mg/dL", "2025-06-01"), obs(m.id, "9318-7", 60, "mg/g",
                                                             "2025-06-01")])
    # Scr 1.5 mg/dL, man of 59: eGFR about 53 -> G3a
    assert health_underwriting.underwrite(db, member_id=m.id, product=product, on=on) == "G3a/A2"
    g4 = catalog_service.get_product(db, code="KID-G4-BASIC")
    with pytest.raises(ValidationFailed) as exc:
        health_underwriting.underwrite(db, member_id=m.id, product=g4, on=on)
    assert "not covered" in exc.value.problems[0].rule


def test_confirmed_progression(db):
    m = factories.member(db, birth=date(1960, 1, 1), sex="M")
    db.flush()
    service.record(db, actor=SYSTEM, items=[obs(m.id, "98979-8", 50, None, "2024-01-10"),
                                            obs(m.id, "98979-8", 36, None, "2024-09-01")])
    e = health_underwriting.confirmed_progression(db, member_id=m.id, on=date(2024, 10, 1))
    assert not e.confirmed and "not confirmed" in e.reason
    service.record(db, actor=SYSTEM, items=[obs(m.id, "98979-8", 35, None, "2024-12-15")])
    e = health_underwriting.confirmed_progression(db, member_id=m.id, on=date(2025, 1, 1))
    assert e.confirmed and e.from_category == "G3a" and e.to_category == "G3b"


def test_queue_over_http(client, db):
    m = factories.member(db, birth=date(1955, 1, 1), sex="M")
    db.flush()
    headers = factories.staff_headers(client, db, Role.CARE)
    r = client.post("/api/v1/health/observations", headers=headers, json={"items": [
        {"member_id": m.id, "loinc": "2823-3", "value": 6.4, "unit": "mmol/L",
         "effective_at": "2025-05-01T08:00:00+08:00"},
        {"member_id": m.id, "loinc": "8480-6", "value": 135, "unit": "mmHg",
         "effective_at": "2025-05-01T08:00:00+08:00"}]})
    assert r.status_code == 201, r.text
    q = client.get("/api/v1/health/alerts", headers=headers).json()
    assert [a["rule"] for a in q["items"]] == ["potassium_high", "systolic_above_target"]
    assert q["items"][0]["severity"] == "critical"
    aid = q["items"][0]["id"]
    r = client.post(f"/api/v1/health/alerts/{aid}/actions", headers=headers,
                    json={"action": "acknowledge", "note": "seen"})
    assert r.json()["status"] == "acknowledged"
    r = client.post(f"/api/v1/health/alerts/{aid}/actions", headers=headers,
                    json={"action": "resolve", "note": ""})
    assert r.status_code == 422
    r = client.post(f"/api/v1/health/alerts/{aid}/actions", headers=headers,
                    json={"action": "resolve", "note": "diet changed, retested 4.8"})
    assert r.json()["status"] == "resolved" and len(r.json()["notes"]) == 2
    r = client.post(f"/api/v1/health/alerts/{aid}/actions", headers=headers,
                    json={"action": "contact", "note": "late"})
    assert r.status_code == 409
    bad = client.post("/api/v1/health/observations", headers=headers, json={"items": [
        {"member_id": m.id, "loinc": "2160-0", "value": 50, "unit": "mg/dL",
         "effective_at": "2025-05-02"}]})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "items[0].value"
    view = client.get(f"/api/v1/health/patients/{m.id}", headers=headers).json()
    assert view["latest_values"]["potassium"] == 6.4
    claims = factories.staff_headers(client, db, Role.CLAIMS)
    assert client.get("/api/v1/health/alerts", headers=claims).status_code == 403
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Alert)) == 2


def test_enrolment_through_policies_uses_own_labs(db):
    from mutua.policies import service as policies_service

    _kidney_project(db)
    m = factories.member(db, birth=date(1960, 2, 1), sex="F")
    db.flush()
    service.record(db, actor=SYSTEM, items=[
        obs(m.id, "2160-0", 1.6, "mg/dL", "2025-01-05"), obs(m.id, "9318-7", 80, "mg/g",
                                                             "2025-01-05")])
    # labs from January are older than 90 days on 30 June: refused, nothing enrolled
    with pytest.raises(ValidationFailed) as exc:
        policies_service.enrol(db, member_id=m.id, product_code="KID-G3B-BASIC",
                               period_code="2025P1", actor=SYSTEM, on=date(2025, 6, 30),
                               declaration=NO_RISKS)
    assert exc.value.problems[0].field == "labs"
    service.record(db, actor=SYSTEM, items=[
        obs(m.id, "2160-0", 1.6, "mg/dL", "2025-06-02"), obs(m.id, "9318-7", 80, "mg/g",
                                                             "2025-06-02")])
    # Scr 1.6 mg/dL, woman of 65: eGFR about 35 -> G3b
    policy = policies_service.enrol(db, member_id=m.id, product_code="KID-G3B-BASIC",
                                    period_code="2025P1", actor=SYSTEM, on=date(2025, 6, 30),
                                    declaration=NO_RISKS)
    assert policy.project_id == health_patients.ckd_projects(db, [m.id])[m.id]


def test_members_see_only_their_own(client, db):
    me = factories.member(db, login=True)
    other = factories.member(db)
    db.flush()
    headers = factories.member_headers(client, db, me)
    r = client.post("/api/v1/health/observations", headers=headers, json={"items": [
        {"member_id": me.id, "loinc": "8480-6", "value": 118, "unit": "mmHg",
         "effective_at": "2025-05-01T08:00:00+08:00"}]})
    assert r.status_code == 201, r.text
    assert client.get(f"/api/v1/health/patients/{me.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/health/patients/{other.id}",
                      headers=headers).status_code == 403
    r = client.post("/api/v1/health/observations", headers=headers, json={"items": [
        {"member_id": other.id, "loinc": "8480-6", "value": 118, "unit": "mmHg",
         "effective_at": "2025-05-01T08:00:00+08:00"}]})
    assert r.status_code == 403
    assert client.get("/api/v1/health/alerts", headers=headers).status_code == 403


def test_fhir_over_http_refuses_patients_of_another_coordinator(client, db):
    m = factories.member(db, birth=date(1960, 1, 1), sex="M")
    other_care = factories.staff(db, Role.CARE)
    db.flush()
    health_coordination.assign(db, actor=SYSTEM, member_id=m.id, coordinator_user_id=other_care.id)
    headers = factories.staff_headers(client, db, Role.CARE)
    text = json.dumps(FHIR_BUNDLE).replace("{number}", m.member_number)
    out = job_result(client, client.post("/api/v1/health/fhir", headers=headers, content=text),
                     headers)  # imported as a job: 202, then its result
    assert out["accepted"] == 0
    assert {x["reason"] for x in out["rejected"]} >= {"you may not see this patient"}
    r = client.post("/api/v1/health/fhir", headers=headers, content="{not json")
    assert r.status_code == 422


def test_overdue_tests_raise_one_alert(db):
    late = factories.member(db, birth=date(1950, 1, 1), sex="M")
    fine = factories.member(db, birth=date(1950, 1, 1), sex="M")
    db.flush()
    # G4 (3 tests a year: due after 122 days, alert after 30 more)
    service.record(db, actor=SYSTEM, items=[obs(late.id, "98979-8", 25, None, "2025-01-10"),
                                            obs(fine.id, "98979-8", 25, None, "2025-05-20")])
    assert health_coordination.raise_overdue_alerts(db, on=date(2025, 6, 30), actor=SYSTEM) == 1
    assert health_coordination.raise_overdue_alerts(db, on=date(2025, 7, 1), actor=SYSTEM) == 0
    alert = db.scalar(select(Alert).where(Alert.rule == "test_overdue"))
    assert alert.member_id == late.id
