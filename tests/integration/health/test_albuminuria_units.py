"""A urine ACR is staged in the unit its lab reported, through ingest, alerts and underwriting.

KDIGO 2012 CKD guideline, Table 5 (Kidney Int Suppl 2013;3:1-150) and KDIGO 2024 CKD
guideline, Figure 2 (Kidney Int 2024;105(4S):S117-S314): A1 < 30 mg/g (< 3 mg/mmol),
A2 30-299 mg/g (3-29 mg/mmol), A3 >= 300 mg/g (>= 30 mg/mmol). Converting first (x 8.84)
would put 3 mg/mmol (26.52 mg/g) in A1.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mutua.auth.security import SYSTEM
from mutua.catalog import service as catalog_service
from mutua.errors import ValidationFailed
from mutua.health import coordination as health_coordination
from mutua.health import patient_view as health_view
from mutua.health import service
from mutua.health import underwriting as health_underwriting
from mutua.health.models import Alert, KidneyResult
from tests import factories
from tests.unit.health.test_clinical import ACR_EDGES

CKD_YAML = Path(__file__).parents[3] / "src/mutua/catalog/products/ckd.yaml"
ACR_LOINC = {"mg/g": "9318-7", "mg/mmol": "32294-1"}
TESTED = date(2025, 3, 3)


def _item(member_id, code, value, unit, day=TESTED):
    return {"member_id": member_id, "loinc": code, "value": value, "unit": unit,
            "effective_at": f"{day.isoformat()}T09:00:00+08:00"}


def _patient(db, creatinine: float = 1.5):
    """A man of 58 on TESTED: creatinine 1.5 mg/dL is eGFR about 54 (G3a), 1.0 about 86 (G2)."""
    m = factories.member(db, birth=date(1966, 5, 1), sex="M")
    db.flush()
    return m, _item(m.id, "2160-0", creatinine, "mg/dL")


def _latest(db, member_id) -> KidneyResult:
    return db.scalars(select(KidneyResult).where(KidneyResult.member_id == member_id)
                      .order_by(KidneyResult.id.desc())).first()


@pytest.mark.parametrize(("acr", "unit", "a"), ACR_EDGES)
def test_a_ratio_sent_with_the_creatinine_is_staged_in_its_unit(db, acr, unit, a):
    m, creatinine = _patient(db)
    out = service.record(db, actor=SYSTEM, items=[
        _item(m.id, ACR_LOINC[unit], acr, unit), creatinine])
    (result,) = out["results"]
    assert result["g_category"] == "G3a" and result["a_category"] == a
    assert result["risk"] == {"A1": "moderately increased", "A2": "high",
                              "A3": "very high"}[a]


@pytest.mark.parametrize(("acr", "unit", "a"), ACR_EDGES)
def test_a_stored_ratio_is_staged_in_its_unit_when_a_later_creatinine_arrives(db, acr, unit, a):
    m, _ = _patient(db)
    service.record(db, actor=SYSTEM, items=[_item(m.id, ACR_LOINC[unit], acr, unit)])
    service.record(db, actor=SYSTEM, items=[
        _item(m.id, "2160-0", 1.5, "mg/dL", TESTED + timedelta(days=20))])
    assert _latest(db, m.id).a_category == a


def test_a_unit_given_by_its_ucum_spelling_counts_as_mg_mmol(db):
    m, creatinine = _patient(db)
    out = service.record(db, actor=SYSTEM, items=[
        _item(m.id, "kind:acr", 3.0, "mg/mmol{creat}"), creatinine])
    assert out["results"][0]["a_category"] == "A2"


@pytest.mark.parametrize(("acr", "overdue"), [(2.99, False), (3.0, True)])
def test_the_testing_schedule_follows_the_category_of_a_mg_mmol_ratio(db, acr, overdue):
    # KDIGO 2012 Figure 23: G3a/A1 is tested once a year, G3a/A2 twice. Last tested 250
    # days ago: overdue (182 days plus 30 days' grace) only when 3.0 mg/mmol is read as A2.
    m, creatinine = _patient(db)
    service.record(db, actor=SYSTEM, items=[_item(m.id, "32294-1", acr, "mg/mmol"), creatinine])
    raised = health_coordination.raise_overdue_alerts(db, on=TESTED + timedelta(days=250), actor=SYSTEM)
    alerts = db.scalars(select(Alert.rule).where(Alert.member_id == m.id)).all()
    assert ("test_overdue" in alerts) is overdue and raised == int(overdue)


@pytest.mark.parametrize(("acr", "unit", "a"), ACR_EDGES)
def test_underwriting_reads_the_ratio_in_its_unit(db, acr, unit, a):
    # KID-EARLY-BASIC covers G1-G2 with albuminuria A2 or A3 (catalog/products/ckd.yaml).
    defn = catalog_service.parse_definition(CKD_YAML.read_text())
    catalog_service.load_definition(db, defn=defn, actor=SYSTEM)
    m, creatinine = _patient(db, creatinine=1.0)
    service.record(db, actor=SYSTEM, items=[_item(m.id, ACR_LOINC[unit], acr, unit), creatinine])
    product = catalog_service.get_product(db, code="KID-EARLY-BASIC")
    on = TESTED + timedelta(days=10)
    if a == "A1":
        with pytest.raises(ValidationFailed) as exc:
            health_underwriting.underwrite(db, member_id=m.id, product=product, on=on)
        assert "G2/A1 is not covered" in exc.value.problems[0].rule
    else:
        assert health_underwriting.underwrite(db, member_id=m.id, product=product, on=on) == f"G2/{a}"


@pytest.mark.parametrize(("acr", "unit", "sglt2i"), [
    (19.99, "mg/mmol", False), (20, "mg/mmol", True), (199.99, "mg/g", False), (200, "mg/g", True)])
def test_advice_reads_the_latest_ratio_in_its_unit(db, acr, unit, sglt2i):
    # KDIGO 2024 recommendation 3.7.1: ACR >= 200 mg/g (>= 20 mg/mmol) with eGFR >= 20.
    m, creatinine = _patient(db)
    service.record(db, actor=SYSTEM, items=[_item(m.id, ACR_LOINC[unit], acr, unit), creatinine])
    codes = [a.code for a in health_view.patient_advice(db, member_id=m.id)]
    assert ("sglt2i" in codes) is sglt2i
