"""HTTP routes under /api/v1/health: results in, the coordinators' queue, patient views."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.dates import today
from mutua.deps import DbSession, Paging, PathId, QueryDay, QueryId, Router, allow, in_one_trip
from mutua.errors import ValidationFailed
from mutua.health import clinical, coordination, patient_view, service, underwriting
from mutua.health.schemas import AlertAction, AssignmentIn, ObservationsIn
from mutua.jobs import starts
from mutua.jobs.router import accepted
from mutua.jobs.schemas import JobOut

router = Router(prefix="/health", tags=["health"])

Care = Annotated[Principal, Depends(allow(Role.CARE))]
CareOrMember = Annotated[Principal, Depends(allow(Role.CARE, Role.MEMBER))]
Admin = Annotated[Principal, Depends(allow())]
Anyone = Annotated[Principal, Depends(allow(*Role))]
# What the calculators take: the clinical rules name anything implausible within these.
MEASURE = 100_000
Measure = Annotated[float, Query(ge=-MEASURE, le=MEASURE)]
Age = Annotated[float, Query(ge=-1000, le=1000)]
Short = Annotated[str, Query(max_length=24)]


@router.post("/observations", status_code=201)
def record(body: ObservationsIn, db: DbSession, actor: CareOrMember) -> dict:
    """Store results; the response carries eGFR, stage, risk, slope, alerts and advice."""
    items = [i.model_dump(mode="json") for i in body.items]
    return service.record(db, actor=actor, items=items)


@router.post("/fhir", status_code=202, response_model=JobOut)
async def fhir_bundle(request: Request, db: DbSession, actor: Care):
    """A FHIR R4 Bundle of Observations, imported as a job: 202 and the job, whose result
    says how many were accepted and each refused one with its reason. A Bundle that is not
    valid FHIR is refused at once (422)."""

    body = await request.body()
    if len(body) > request.app.state.settings.upload_max_bytes:
        raise ValidationFailed("file", "is larger than the upload limit")
    return await in_one_trip(db, lambda: accepted(db, starts.lab_import(
        db, data=body, filename="bundle.json", format="fhir", actor=actor)))  # off the loop


@router.get("/patients/{member_id}")
def patient(member_id: PathId, db: DbSession, actor: CareOrMember) -> dict:
    return patient_view.patient_view(db, actor=actor, member_id=member_id)


@router.get("/patients/{member_id}/observations")
def observations(member_id: PathId, db: DbSession, actor: CareOrMember, paging: Paging,
                 kind: Annotated[str | None, Query(max_length=16)] = None) -> dict:
    items, total = patient_view.history(db, actor=actor, member_id=member_id, kind=kind,
                                        limit=paging.limit, offset=paging.offset)
    return {"items": items, "total": total, "limit": paging.limit, "offset": paging.offset}


@router.put("/patients/{member_id}/coordinator")
def assign(member_id: PathId, body: AssignmentIn, db: DbSession, actor: Admin) -> dict:
    return coordination.assign(db, actor=actor, member_id=member_id,
                               coordinator_user_id=body.coordinator_user_id)


@router.get("/my-patients")
def my_patients(db: DbSession, actor: Care, paging: Paging) -> dict:
    items, total = coordination.my_patients(db, actor=actor, limit=paging.limit,
                                            offset=paging.offset)
    return {"items": items, "total": total, "limit": paging.limit, "offset": paging.offset}


@router.get("/alerts")
def alerts(db: DbSession, actor: Care, paging: Paging,
           status: Annotated[str | None, Query(max_length=14)] = None,
           project_id: QueryId = None) -> dict:
    """The coordinators' queue: unresolved alerts, most severe first."""
    items, total = coordination.alert_queue(db, actor=actor, status=status, project_id=project_id,
                                            limit=paging.limit, offset=paging.offset)
    return {"items": items, "total": total, "limit": paging.limit, "offset": paging.offset}


@router.post("/alerts/{alert_id}/actions")
def act(alert_id: PathId, body: AlertAction, db: DbSession, actor: Care) -> dict:
    return coordination.act_on_alert(db, actor=actor, alert_id=alert_id, action=body.action,
                                     note=body.note)


@router.get("/claims-evidence/{member_id}/progression")
def progression(member_id: PathId, db: DbSession,
                actor: Annotated[Principal, Depends(allow(Role.CLAIMS))],
                on: QueryDay = None) -> dict:
    e = underwriting.confirmed_progression(db, member_id=member_id, on=on or today())

    audit.record(db, actor=actor, action="health.read.progression", entity="patient",
                 entity_id=member_id)
    return underwriting.evidence_dict(e)


@router.get("/calculators/egfr")
def egfr(actor: Anyone, creatinine: Measure, age: Age, sex: Short, unit: Short = "mg/dL",
         cystatin_c: Annotated[float | None, Query(ge=0, le=MEASURE)] = None) -> dict:
    """eGFR by CKD-EPI 2021 (no data stored)."""
    v = clinical.egfr_creatinine(creatinine, age=age, sex=sex, unit=unit, cystatin_c=cystatin_c)
    eq = clinical.EQUATION_CR if cystatin_c is None else clinical.EQUATION_CR_CYS
    return {"egfr": round(v, 1), "equation": eq, "g_category": clinical.g_category(round(v, 1))}


@router.get("/calculators/kfre")
def kfre(actor: Anyone, age: Age, sex: Short, egfr: Measure, acr: Measure,
         acr_unit: Short = "mg/g", calibration: Short = "north-american") -> dict:
    r = clinical.kfre(age=age, sex=sex, egfr=egfr, acr=acr, acr_unit=acr_unit,
                      calibration=calibration)
    return {"risk_2y": round(r.risk_2y, 4), "risk_5y": round(r.risk_5y, 4)}
