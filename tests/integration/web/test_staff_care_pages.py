"""Care coordinators' pages: assigning coordinators, my patients, importing lab files, and
the eGFR and KFRE calculators."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mutua.audit.models import AuditEvent
from mutua.auth.models import User
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.catalog import service as catalog_service
from mutua.health import coordination as health_coordination
from mutua.health import patient_view as health_view
from mutua.health import service as health_service
from mutua.health.models import Alert, CoordinatorAssignment, Observation
from mutua.members import accounts
from mutua.policies import service as policies_service
from tests import factories as f
from tests.integration.web.conftest import PASSWORD, csrf_of, post_form, sign_in
from tests.jobs import report_of_job

CKD_YAML = Path(__file__).parents[3] / "src/mutua/catalog/products/ckd.yaml"

# The kidney products' health declaration, answered with none of the refused risks.
NO_RISKS = {"rrt_planned": "no", "in_hospital": "no"}


def obs(member_id, code, value, unit, when):
    return {"member_id": member_id, "loinc": code, "value": value, "unit": unit,
            "effective_at": when}


@pytest.fixture
def kidney_patient(db):
    """``kidney_patient()`` -> a member holding a CKD policy, with labs (G3b, A2)."""
    defn = catalog_service.parse_definition(CKD_YAML.read_text())
    catalog_service.load_definition(db, defn=defn, actor=SYSTEM)

    def make():
        m = f.member(db, birth=date(1960, 2, 1), sex="F")
        db.flush()
        # Scr 1.6 mg/dL, woman of 65: eGFR about 35 -> G3b; ACR 80 mg/g -> A2
        health_service.record(db, actor=SYSTEM, items=[
            obs(m.id, "2160-0", 1.6, "mg/dL", "2025-06-02"),
            obs(m.id, "9318-7", 80, "mg/g", "2025-06-02")])
        policies_service.enrol(db, member_id=m.id, product_code="KID-G3B-BASIC",
                               period_code="2025P1", actor=SYSTEM, on=date(2025, 6, 30),
                               declaration=NO_RISKS)
        db.commit()
        return m

    return make


@pytest.fixture
def care_user(db):
    def make(username: str, *, active: bool = True, role: Role = Role.CARE) -> User:
        user = accounts.create_user(db, username=username, password=PASSWORD, role=role)
        user.active = active
        db.commit()
        return user

    return make


def signed_in(client, db, role: Role, username: str | None = None) -> User:
    name = username or f"{role.value}-page-user"
    user = db.scalar(select(User).where(User.username == name))
    if user is None:
        user = accounts.create_user(db, username=name, password=PASSWORD, role=role)
        db.commit()
    sign_in(client, name)
    return user


def english(client) -> None:
    client.cookies.set("mutua_locale", "en")


def assignments(db) -> list[tuple[int, int]]:
    db.expire_all()
    return [(a.member_id, a.coordinator_user_id)
            for a in db.scalars(select(CoordinatorAssignment).order_by(
                CoordinatorAssignment.member_id))]


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- who may open the pages

PAGES = ("/staff/care/patients", "/staff/care/patients?unassigned=1", "/staff/care/import",
         "/staff/care/calculators", "/staff/care/import/template.csv")


@pytest.mark.parametrize("path", PAGES)
def test_care_and_admin_open_the_pages(client, db, path):
    signed_in(client, db, Role.CARE)
    assert client.get(path).status_code == 200
    signed_in(client, db, Role.ADMIN)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_other_roles_get_the_forbidden_page_and_strangers_sign_in(client, db, path):
    assert client.get(path, follow_redirects=False).headers["location"].startswith("/signin")
    signed_in(client, db, Role.CLAIMS)
    refused = client.get(path)
    assert refused.status_code == 403


def test_a_member_may_not_open_the_care_pages_nor_a_patient(client, db, kidney_patient):
    patient = kidney_patient()
    me = f.member(db, login=True)
    db.commit()
    sign_in(client, me.member_number, f.PASSWORD)
    for path in ("/staff/care/patients", f"/staff/care/patients/{patient.id}",
                 f"/staff/care/patients/{me.id}", "/staff/care/import",
                 "/staff/care/calculators"):
        assert client.get(path).status_code == 403, path


def test_the_queue_links_to_the_new_pages(client, db):
    signed_in(client, db, Role.CARE)
    queue = client.get("/staff/care").text
    for link in ("/staff/care/patients", "/staff/care/patients?unassigned=1",
                 "/staff/care/import", "/staff/care/calculators"):
        assert f'href="{link}"' in queue


# ---------------------------------------------------------------- assigning coordinators


def test_an_admin_assigns_a_coordinator_from_the_patient_view(client, db, kidney_patient,
                                                                care_user):
    patient = kidney_patient()
    li = care_user("li-care")
    care_user("gone-care", active=False)
    care_user("claims-x", role=Role.CLAIMS)
    signed_in(client, db, Role.ADMIN)
    page = client.get(f"/staff/care/patients/{patient.id}")
    assert page.status_code == 200 and "尚未指派个案管理师" in page.text
    options = re.findall(r'<option value="(\d+)"', page.text)
    assert options == [str(li.id)]  # active care coordinators only
    done = post_form(client, f"/staff/care/patients/{patient.id}/coordinator",
                     {"coordinator_user_id": str(li.id)},
                     from_page=f"/staff/care/patients/{patient.id}")
    assert done.status_code == 303 and done.headers["location"].endswith("?done=assigned")
    assert assignments(db) == [(patient.id, li.id)]
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "health.assign", AuditEvent.entity_id == str(patient.id))) == 1
    english(client)
    after = client.get(done.headers["location"])
    assert "The coordinator is assigned." in after.text and "(li-care)" in after.text


@pytest.mark.parametrize("choice", ["gone", "claims", "junk", "", "999999", "999999999999"])
def test_an_admin_cannot_assign_anyone_but_an_active_coordinator(client, db, kidney_patient,
                                                                  care_user, choice):
    patient = kidney_patient()
    users = {"gone": care_user("gone-care", active=False),
             "claims": care_user("claims-x", role=Role.CLAIMS)}
    value = str(users[choice].id) if choice in users else choice
    signed_in(client, db, Role.ADMIN)
    english(client)
    refused = post_form(client, f"/staff/care/patients/{patient.id}/coordinator",
                        {"coordinator_user_id": value},
                        from_page=f"/staff/care/patients/{patient.id}")
    assert refused.status_code == 422
    assert "Care coordinator:" in refused.text
    assert assignments(db) == []


def test_a_care_coordinator_sees_who_is_assigned_but_may_not_assign(client, db, kidney_patient,
                                                                     care_user):
    patient = kidney_patient()
    me = signed_in(client, db, Role.CARE)
    health_coordination.assign(db, actor=SYSTEM, member_id=patient.id, coordinator_user_id=me.id)
    other = care_user("wang-care")
    db.commit()
    page = client.get(f"/staff/care/patients/{patient.id}")
    assert page.status_code == 200 and f"({me.username})" in page.text
    assert "/coordinator" not in page.text  # no assignment form
    page_token = csrf_of(page.text)
    refused = client.post(f"/staff/care/patients/{patient.id}/coordinator",
                          data={"csrf_token": page_token, "coordinator_user_id": str(other.id)})
    assert refused.status_code == 403
    assert assignments(db) == [(patient.id, me.id)]


def test_another_coordinators_patient_is_forbidden(client, db, kidney_patient, care_user):
    patient = kidney_patient()
    other = care_user("wang-care")
    health_coordination.assign(db, actor=SYSTEM, member_id=patient.id, coordinator_user_id=other.id)
    db.commit()
    signed_in(client, db, Role.CARE)
    assert client.get(f"/staff/care/patients/{patient.id}").status_code == 403
    assert client.get("/staff/care/patients/999999").status_code == 404


def test_an_admin_works_through_the_unassigned_patients(client, db, kidney_patient, care_user):
    first, second, third = kidney_patient(), kidney_patient(), kidney_patient()
    li = care_user("li-care")
    health_coordination.assign(db, actor=SYSTEM, member_id=third.id, coordinator_user_id=li.id)
    db.commit()
    signed_in(client, db, Role.ADMIN)
    page = client.get("/staff/care/patients?unassigned=true")
    assert page.status_code == 200
    assert "2 位肾病患者尚未指派个案管理师" in page.text
    assert first.member_number in page.text and second.member_number in page.text
    assert third.member_number not in page.text
    everyone = client.get("/staff/care/patients")
    assert third.member_number in everyone.text and "li-care" in everyone.text
    # One row per page from the service; the page links to the next one.
    rows, total = health_coordination.patient_roster(db, actor=SYSTEM, unassigned=True, limit=1,
                                                     offset=1)
    assert total == 2 and [r["member_id"] for r in rows] == [second.id]
    db.rollback()  # the roster read is audited: let the pages write too (SQLite)
    assigned = post_form(client, f"/staff/care/patients/{first.id}/coordinator",
                         {"coordinator_user_id": str(li.id), "back": "unassigned"},
                         from_page="/staff/care/patients?unassigned=1")
    assert assigned.status_code == 303
    assert assigned.headers["location"] == "/staff/care/patients?unassigned=1&done=assigned"
    english(client)
    after = client.get(assigned.headers["location"])
    assert "1 kidney patients have no care coordinator yet" in after.text
    assert first.member_number not in after.text and second.member_number in after.text


def test_the_roster_pages_with_offset(client, db, kidney_patient):
    patients = [kidney_patient() for _ in range(3)]
    signed_in(client, db, Role.ADMIN)
    import mutua.web.pages.staff_care as pages

    original, pages.PAGE = pages.PAGE, 2
    try:
        first = client.get("/staff/care/patients?unassigned=1")
        assert "offset=2" in first.text  # the pager's next link
        second = client.get("/staff/care/patients?unassigned=1&offset=2")
    finally:
        pages.PAGE = original
    assert patients[2].member_number in second.text
    assert patients[0].member_number not in second.text


# ---------------------------------------------------------------- my patients


def test_my_patients_shows_egfr_stage_risk_and_open_alerts(client, db, kidney_patient,
                                                            care_user):
    mine, theirs = kidney_patient(), kidney_patient()
    me = signed_in(client, db, Role.CARE)
    other = care_user("wang-care")
    health_coordination.assign(db, actor=SYSTEM, member_id=mine.id, coordinator_user_id=me.id)
    health_coordination.assign(db, actor=SYSTEM, member_id=theirs.id, coordinator_user_id=other.id)
    # A later creatinine of 2.6 mg/dL: eGFR about 20 (G4), a drop that raises alerts.
    health_service.record(db, actor=SYSTEM, items=[
        obs(mine.id, "2160-0", 2.6, "mg/dL", "2025-09-01")])
    db.commit()
    latest = health_view.latest_results(db, [mine.id])[mine.id]
    open_alerts = health_coordination.open_alerts_by_patient(db, [mine.id])[mine.id]
    assert latest["g_category"] == "G4" and open_alerts >= 1
    page = client.get("/staff/care/patients")
    assert page.status_code == 200 and "我的患者" in page.text
    assert f'href="/staff/care/patients/{mine.id}"' in page.text
    assert f'href="/staff/care/patients/{theirs.id}"' not in page.text
    assert f"{latest['egfr']:.1f}" in page.text and "G4" in page.text
    assert "重度下降" in page.text  # KDIGO: G4 severely decreased
    assert f'<span class="tag warn">{open_alerts}</span>' in page.text
    english(client)
    page = client.get("/staff/care/patients")
    assert "My patients" in page.text and "1 patients assigned to you" in page.text
    assert "Severely decreased" in page.text and "Very high risk" in page.text
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "health.read.patients")) >= 2


def test_a_coordinator_also_sees_the_unassigned_but_not_anothers(client, db, kidney_patient,
                                                                 care_user):
    free, theirs = kidney_patient(), kidney_patient()
    other = care_user("wang-care")
    health_coordination.assign(db, actor=SYSTEM, member_id=theirs.id, coordinator_user_id=other.id)
    db.commit()
    signed_in(client, db, Role.CARE)
    page = client.get("/staff/care/patients?unassigned=1")
    assert free.member_number in page.text and theirs.member_number not in page.text
    assert "/coordinator" not in page.text  # only an administrator assigns


# ---------------------------------------------------------------- importing lab files


def upload(client, name: str, content: bytes | str, content_type: str = "text/csv"):
    page = client.get("/staff/care/import")
    data = content.encode() if isinstance(content, str) else content
    answer = client.post("/staff/care/import", data={"csrf_token": csrf_of(page.text)},
                         files={"file": (name, data, content_type)}, follow_redirects=False)
    return report_of_job(client, answer, "/staff/care/import")


def lab_csv(*rows: str) -> str:
    return "member_number,loinc,value,unit,effective_at\n" + "".join(r + "\n" for r in rows)


def test_a_csv_import_reports_stored_duplicates_alerts_and_skipped(client, db, kidney_patient):
    m = kidney_patient()
    before, alerts_before = count(db, Observation), count(db, Alert)
    signed_in(client, db, Role.CARE)
    english(client)
    r = upload(client, "lab.csv", lab_csv(
        f"{m.member_number},2160-0,2.6,mg/dL,2025-09-01T08:00:00+08:00",
        f"{m.member_number},2160-0,2.6,mg/dL,2025-09-01T08:00:00+08:00",
        f"{m.member_number},2160-0,1.6,mg/dL,2025-06-02",
        f"{m.member_number},9318-7,45,mg/mmol,2025-09-01T08:00:00+08:00",
        "M999999999,2160-0,1.2,mg/dL,2025-06-01",
        f"{m.member_number},2345-7,5.4,mmol/L,2025-09-01"))
    assert r.status_code == 200, r.text[:2000]
    report = r.text
    assert re.search(r'id="stored">2<', report)
    assert re.search(r'id="duplicates">2<', report)
    raised = count(db, Alert) - alerts_before
    assert raised >= 1 and f'id="alerts">{raised}<' in report
    assert re.search(r'id="skipped">4<', report)
    assert "Line 3 · Result: duplicate of another record in this batch" in report
    assert "Line 4 · Result: duplicate of a stored result" in report
    assert "Line 6 · Patient: unknown patient" in report
    assert "Line 7 · Code: unknown LOINC code" in report
    assert count(db, Observation) == before + 2
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "health.observations.import")) == 1


def test_a_fhir_bundle_imports_and_is_reported_in_chinese(client, db, kidney_patient):
    m = kidney_patient()
    before = count(db, Observation)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Observation", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
                      "subject": {"reference": f"Patient/{m.member_number}"},
                      "effectiveDateTime": "2025-09-01T08:00:00+08:00",
                      "valueQuantity": {"value": 1.7, "unit": "mg/dL", "code": "mg/dL"}}},
        {"resource": {"resourceType": "Observation", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
                      "subject": {"reference": "Patient/M999999999"},
                      "effectiveDateTime": "2025-09-01T08:00:00+08:00",
                      "valueQuantity": {"value": 1.7, "unit": "mg/dL", "code": "mg/dL"}}}]}
    signed_in(client, db, Role.CARE)
    r = upload(client, "bundle.json", json.dumps(bundle), "application/fhir+json")
    assert r.status_code == 200, r.text[:2000]
    assert re.search(r'id="stored">1<', r.text) and "导入报告" in r.text
    assert "Bundle 第 2 条" in r.text and "患者：未知的患者" in r.text
    assert count(db, Observation) == before + 1


def _future() -> str:
    return (datetime.now(UTC) + timedelta(days=3)).date().isoformat()


@pytest.mark.parametrize(("name", "content", "shown"), [
    ("lab.csv", "{row}0,mg/dL,2025-09-01", "Line 2 · Value: creatinine is not physiologically"),
    ("lab.csv", "{row}100,mg/dL,2025-09-01", "Line 2 · Value: creatinine is not physiologically"),
    ("lab.csv", "{row}-1,mg/dL,2025-09-01", "Line 2 · Value: creatinine is not physiologically"),
    ("lab.csv", "{row}abc,mg/dL,2025-09-01", "Line 2 · Value: missing or not a number"),
    ("lab.csv", "{row}1.5,mg/L2,2025-09-01", "Line 2 · Unit: unknown unit"),
    ("lab.csv", "{row}1.5,mg/dL,{future}", "Line 2 · Date the sample was taken: is in the future"),
    ("lab.csv", "{row}1.5,mg/dL,yesterday", "Line 2 · Date the sample was taken: missing or not an ISO"),
    ("lab.csv", "member,code\nM1,2160-0\n", "File: CSV needs the columns"),
    ("bundle.json", "{not json", "File: is not JSON"),
    ("bundle.json", '{"resourceType": "Patient"}', "File: must be a FHIR Bundle"),
    ("bundle.json", '{"resourceType": "Bundle", "type": "nope", "entry": 5}',
     "File: is not valid FHIR R4"),
    ("lab.pdf", "%PDF-1.4", "File: must be a FHIR Bundle (.json) or a CSV file (.csv)"),
    ("lab.csv", b"\xff\xfe\x00bad", "File: must be UTF-8 text"),
    ("lab.csv", "", "File: choose a file to upload"),
])
def test_a_bad_file_is_refused_whole_and_nothing_stored(client, db, kidney_patient, name,
                                                        content, shown):
    m = kidney_patient()
    before, alerts = count(db, Observation), count(db, Alert)
    good = f"{m.member_number},2160-0,1.9,mg/dL,2025-08-01\n"
    if isinstance(content, str) and "{row}" in content:
        content = lab_csv(content.format(row=f"{m.member_number},2160-0,",
                                         future=_future())) + good
    signed_in(client, db, Role.CARE)
    english(client)
    r = upload(client, name, content)
    # refused before it is queued (422), or by the import job, whose report page says so
    assert r.status_code in (422, 200), r.text[:2000]
    assert "nothing was stored" in r.text and shown in r.text
    assert count(db, Observation) == before and count(db, Alert) == alerts
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "health.observations.import")) == 0


def test_a_file_over_the_upload_limit_is_refused(client, db, kidney_patient, monkeypatch):
    m = kidney_patient()
    before = count(db, Observation)
    monkeypatch.setattr(client.app.state.settings, "upload_max_bytes", 100)
    signed_in(client, db, Role.CARE)
    english(client)
    rows = [f"{m.member_number},2160-0,1.9,mg/dL,2025-08-{d:02d}" for d in range(1, 10)]
    r = upload(client, "lab.csv", lab_csv(*rows))
    assert r.status_code == 422 and "File: is larger than the upload limit" in r.text
    assert count(db, Observation) == before


def test_a_refused_file_is_explained_in_chinese(client, db, kidney_patient):
    m = kidney_patient()
    signed_in(client, db, Role.CARE)
    r = upload(client, "lab.csv", lab_csv(f"{m.member_number},2160-0,1.5,mg/dL,{_future()}"))
    assert r.status_code == 200  # the import job refused the file; its report page says why
    assert "第 2 行" in r.text and "采样日期：不能是将来的日期" in r.text


def test_the_csv_template_has_the_expected_header(client, db):
    signed_in(client, db, Role.CARE)
    r = client.get("/staff/care/import/template.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.text == "member_number,loinc,value,unit,effective_at\n"
    assert 'href="/staff/care/import/template.csv"' in client.get("/staff/care/import").text


def test_an_import_skips_the_patients_of_another_coordinator(client, db, kidney_patient,
                                                             care_user):
    m = kidney_patient()
    other = care_user("wang-care")
    health_coordination.assign(db, actor=SYSTEM, member_id=m.id, coordinator_user_id=other.id)
    db.commit()
    before = count(db, Observation)
    signed_in(client, db, Role.CARE)
    english(client)
    r = upload(client, "lab.csv", lab_csv(f"{m.member_number},2160-0,1.9,mg/dL,2025-08-01"))
    assert r.status_code == 200
    assert "Line 2 · Patient: you may not see this patient" in r.text
    assert count(db, Observation) == before


# ---------------------------------------------------------------- calculators


def calc(client, which: str, data: dict):
    return post_form(client, f"/staff/care/calculators/{which}", data,
                     from_page="/staff/care/calculators")


def test_the_egfr_calculator_gives_the_published_value_and_stage(client, db):
    signed_in(client, db, Role.CARE)
    page = client.get("/staff/care/calculators")
    assert page.status_code == 200 and "µmol/L" in page.text and "mL/min/1.73 m²" in page.text
    # R package `egfr` tests and DOMAIN.md section 5: female 50, Scr 1.0 mg/dL -> 68.6 (G2).
    r = calc(client, "egfr", {"creatinine": "1.0", "creatinine_unit": "mg/dL", "age": "50",
                              "sex": "F"})
    assert r.status_code == 200
    assert "eGFR 68.6" in r.text and "G2" in r.text and "轻度下降" in r.text
    assert 'value="68.6"' in r.text  # carried over to the KFRE form
    # NKF CKD-EPI 2021 calculator (kidney.org): female 65, Scr 85 umol/L -> 66 (G2).
    english(client)
    r = calc(client, "egfr", {"creatinine": "85", "creatinine_unit": "umol/L", "age": "65",
                              "sex": "F"})
    assert "eGFR 65.5" in r.text and "Mildly decreased" in r.text
    # ckdepi_2021_egfr testthat: male 24, Scr 1.0 mg/dL, cystatin C 1.0 mg/L -> 97.570 (G1).
    r = calc(client, "egfr", {"creatinine": "1.0", "creatinine_unit": "mg/dL",
                              "cystatin_c": "1.0", "age": "24", "sex": "M"})
    assert "eGFR 97.6" in r.text and "CKD-EPI 2021 creatinine-cystatin C" in r.text
    assert "Normal or high" in r.text


def test_the_kfre_calculator_gives_the_published_risk(client, db):
    signed_in(client, db, Role.CARE)
    english(client)
    # kidneyfailurerisk.com via DOMAIN.md section 5: female 63, eGFR 45, ACR 30 mg/g ->
    # 0.4% at 2 years, 1.3% at 5 years (the site truncates; 1.36% rounds to 1.4% here).
    r = calc(client, "kfre", {"age": "63", "sex": "F", "egfr": "45", "acr": "30",
                              "acr_unit": "mg/g", "calibration": "north-american"})
    assert r.status_code == 200
    assert "2 years: 0.4% · 5 years: 1.4%" in r.text
    assert "G3a" in r.text and "A2" in r.text and "High risk" in r.text
    # 3.4 mg/mmol is 30 mg/g within rounding: the same answer.
    r = calc(client, "kfre", {"age": "63", "sex": "F", "egfr": "45", "acr": "3.3937",
                              "acr_unit": "mg/mmol", "calibration": "north-american"})
    assert "2 years: 0.4% · 5 years: 1.4%" in r.text


@pytest.mark.parametrize(("which", "data", "shown"), [
    ("egfr", {"creatinine": "-1", "age": "50", "sex": "F"}, "Serum creatinine: creatinine -1"),
    ("egfr", {"creatinine": "0", "age": "50", "sex": "F"}, "not physiologically possible"),
    ("egfr", {"creatinine": "abc", "age": "50", "sex": "F"}, "Serum creatinine: must be a number"),
    ("egfr", {"creatinine": "1", "age": "150", "sex": "F"},
     "Age: must be a real age in years (at most 120)"),
    ("egfr", {"creatinine": "1", "age": "-5", "sex": "F"}, "Age: must be 18 or over"),
    ("egfr", {"creatinine": "1", "age": "12", "sex": "F"}, "Age: must be 18 or over"),
    ("egfr", {"creatinine": "1", "age": "50", "sex": "X"}, "Sex: must be F or M"),
    ("egfr", {"creatinine": "1", "cystatin_c": "-2", "age": "50", "sex": "F"},
     "Serum cystatin C (optional): cystatin_c -2"),
    ("egfr", {"creatinine": "1", "creatinine_unit": "g/L", "age": "50", "sex": "F"},
     "Creatinine unit: must be one of mg/dL, umol/L"),
    ("kfre", {"age": "63", "sex": "F", "egfr": "75", "acr": "30"},
     "eGFR: must be below 60: the KFRE is valid for G3-G5 only"),
    ("kfre", {"age": "63", "sex": "F", "egfr": "45", "acr": "0"},
     "Urine albumin-creatinine ratio: must be above 0"),
    ("kfre", {"age": "63", "sex": "F", "egfr": "-45", "acr": "30"}, "eGFR: egfr -45"),
    ("kfre", {"age": "200", "sex": "F", "egfr": "45", "acr": "30"}, "Age: must be a real age"),
    ("kfre", {"age": "63", "sex": "?", "egfr": "45", "acr": "30"}, "Sex: must be F or M"),
    ("kfre", {"age": "63", "sex": "F", "egfr": "45", "acr": "30", "calibration": "mars"},
     "Calibration: must be one of north-american, non-north-american"),
])
def test_bad_calculator_inputs_give_the_form_back(client, db, which, data, shown):
    signed_in(client, db, Role.CARE)
    english(client)
    r = calc(client, which, data)
    assert r.status_code == 422
    assert shown in r.text
    for value in data.values():  # what was typed stays in the form
        if value not in ("F", "X", "?", "g/L", "mars"):
            assert f'value="{value}"' in r.text


def test_a_refused_calculation_is_explained_in_chinese(client, db):
    signed_in(client, db, Role.CARE)
    r = calc(client, "kfre", {"age": "63", "sex": "F", "egfr": "75", "acr": "30"})
    assert r.status_code == 422 and "eGFR：" in r.text and "KFRE" in r.text
    r = calc(client, "egfr", {"creatinine": "1", "age": "50", "sex": "X"})
    assert "性别：" in r.text


def test_calculations_store_nothing_and_read_no_patient(client, db):
    signed_in(client, db, Role.CARE)
    before = count(db, AuditEvent)
    calc(client, "egfr", {"creatinine": "1.0", "age": "50", "sex": "F"})
    assert count(db, Observation) == 0
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.like("health.%"))) == 0
    assert count(db, AuditEvent) >= before


def test_alerts_not_acknowledged_in_time_are_flagged_and_counted_where_they_link(
        client, db, kidney_patient):
    """A critical alert is acknowledged within a day, a medium one within 7 (health.rules):
    the dashboard's overdue count per project is the queue's overdue filter, row for row."""
    late, recent = kidney_patient(), kidney_patient()
    health_service.record(db, actor=SYSTEM, items=[
        obs(late.id, "2823-3", 6.4, "mmol/L", "2025-07-01"),  # potassium: critical
        obs(recent.id, "2823-3", 6.3, "mmol/L", "2025-07-01")])
    now = datetime.now(UTC)
    db.execute(Alert.__table__.update().where(Alert.member_id == late.id)
               .values(created_at=now - timedelta(hours=30)))
    db.execute(Alert.__table__.update().where(Alert.member_id == recent.id)
               .values(created_at=now - timedelta(hours=20)))
    db.commit()
    overdue_ids = set(db.scalars(select(Alert.id).where(
        Alert.member_id == late.id, Alert.severity == "critical")))
    assert len(overdue_ids) == 1
    project = db.scalar(select(Alert.project_id).where(Alert.id.in_(overdue_ids)))
    code = catalog_service.get_product(db, code="KID-G3B-BASIC").project.code
    assert health_coordination.overdue_alert_counts(db) == {project: 1}

    signed_in(client, db, Role.ADMIN)
    dash = client.get("/staff")
    link = re.search(r'id="overdue-alerts-([^"]+)" href="([^"]+)">1 条超期<', dash.text)
    assert link, dash.text[-3000:]
    assert link.group(1) == code
    assert "1 条预警未及时查看" in dash.text
    queue = client.get(link.group(2).replace("&amp;", "&"))
    shown = re.findall(r'href="/staff/care/patients/(\d+)"', queue.text)
    assert shown == [str(late.id)] and 'class="tag bad">超期<' in queue.text
    table = queue.text[queue.text.index("<tbody>"):queue.text.index("</tbody>")]
    assert "年" in table and not re.search(r"\d{4}-\d{2}-\d{2}", table)  # 2026年…, not ISO

    items = client.get("/api/v1/health/alerts", params={"status": "overdue"},
                       headers=f.staff_headers(client, db, Role.ADMIN)).json()["items"]
    assert [(i["member_id"], i["overdue"]) for i in items] == [(late.id, True)]
    health_coordination.act_on_alert(db, actor=SYSTEM, alert_id=next(iter(overdue_ids)),
                                     action="acknowledge")
    db.commit()
    assert health_coordination.overdue_alert_counts(db) == {}
