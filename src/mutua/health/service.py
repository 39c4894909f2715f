"""Kidney monitoring use cases: record results (sent through the API or imported from a lab
file) and the outcomes report of a project.

The rest of the kidney programme lives beside it: who a patient is and who may see their data
(patients.py), the patient view (patient_view.py), the coordinators' work (coordination.py),
and the lab results other domains read (underwriting.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.models import Project
from mutua.catalog.mutual import is_pool
from mutua.dates import SHANGHAI, utcnow
from mutua.db import batched
from mutua.errors import Forbidden, NotFound, Problem, ValidationFailed
from mutua.health import columns, ingest, outcomes
from mutua.health.models import Alert, KidneyResult, Observation
from mutua.health.patient_view import alert_out, observation_out, patient_advice, result_out
from mutua.health.patients import EPOCH, resolve_patients, visible_members
from mutua.policies import membership
from mutua.policies.models import Policy

# ---------------------------------------------------------------- recording results


def record(db: Session, *, actor: Principal, items: list[dict], now: datetime | None = None
           ) -> dict:
    """Store results sent through the API and evaluate them in the same transaction.

    Items: ``{member_id, loinc | kind, value, unit, effective_at}``. Any bad item refuses
    the whole request (nothing stored); a patient the caller may not see is forbidden.
    """
    now = now or utcnow()
    if not items:
        raise ValidationFailed("items", "send at least one result")
    ids = sorted({int(i["member_id"]) for i in items})
    seen = visible_members(db, actor, ids)
    if set(ids) - seen:
        raise Forbidden("you may not record results for a patient you may not see")
    raw = ingest.RawRecords()
    for n, item in enumerate(items):
        code = item.get("loinc") or (f"kind:{item['kind']}" if item.get("kind") else "")
        raw.add(member_ref=f"#{int(item['member_id'])}", code=code, value=item.get("value"),
                unit=item.get("unit"), effective=str(item.get("effective_at") or ""), record=n)
    checked = ingest.ingest(db, raw=raw, source="api", now=now, patients_fn=resolve_patients,
                            dry_run=True)
    if checked.rejected:
        raise ValidationFailed([Problem(f"items[{r['record']}].{r['field']}", r["reason"])
                                for r in checked.rejected])
    out = ingest.ingest(db, raw=raw, source="api", now=now, patients_fn=resolve_patients)
    audit.record(db, actor=actor, action="health.observations.record", entity="patient",
                 entity_id=",".join(str(m) for m in ids)[:64],
                 detail={"accepted": out.accepted, "alerts": out.alert_count})
    return {
        "accepted": out.accepted,
        "observations": _observations_out(db, out.observation_ids),
        "results": _results_out(db, out.result_ids),
        "alerts": [alert_out(a) for a in _alerts_of(db, sorted(out.members), now)],
        "advice": {str(m): [a.to_dict() for a in patient_advice(db, member_id=m)]
                   for m in sorted(out.members)},
    }


def import_records(db: Session, *, actor: Principal, raw: ingest.RawRecords, source: str,
                   now: datetime | None = None) -> ingest.Outcome:
    """Partner-lab and FHIR imports: keep the good records, report each refused one."""
    now = now or utcnow()
    out = ingest.ingest(db, raw=raw, source=source, now=now, patients_fn=resolve_patients,
                        visible_fn=lambda ids: visible_members(db, actor, ids))
    audit.record(db, actor=actor, action="health.observations.import", entity="import",
                 entity_id=source, detail={"accepted": out.accepted,
                                           "rejected": len(out.rejected),
                                           "alerts": out.alert_count})
    return out


def _observations_out(db: Session, ids: list[int]) -> list[dict]:
    if not ids:
        return []
    rows = db.scalars(select(Observation).where(Observation.id.in_(ids))
                      .order_by(Observation.id)).all()
    return [observation_out(o) for o in rows]


def _results_out(db: Session, ids: list[int]) -> list[dict]:
    if not ids:
        return []
    rows = db.scalars(select(KidneyResult).where(KidneyResult.id.in_(ids))
                      .order_by(KidneyResult.effective_at)).all()
    return [result_out(r) for r in rows]


def _alerts_of(db: Session, members: list[int], since: datetime) -> list[Alert]:
    if not members:
        return []
    return list(db.scalars(select(Alert).where(Alert.member_id.in_(members),
                                               Alert.created_at >= since)
                           .order_by(Alert.severity_rank.desc(), Alert.id)))


# ---------------------------------------------------------------- outcomes


def outcomes_report(db: Session, *, project_code: str, on: date, actor: Principal) -> dict:
    """The cohort report for a project (see mutua.health.outcomes for the method)."""
    project = db.scalar(select(Project).where(Project.code == project_code, is_pool()))
    if project is None:
        raise NotFound("project %(project_code)s not found", project_code=project_code)
    enrolled = db.execute(
        membership.kidney_policies(Policy.member_id, func.min(Policy.cover_start))
        .where(Policy.project_id == project.id, Policy.cover_start <= on)
        .group_by(Policy.member_id)).all()
    members = np.array([m for m, _ in enrolled], dtype=np.int64)
    start_day = np.array([(d - EPOCH).days for _, d in enrolled], dtype=np.int64)
    pos = {int(m): i for i, m in enumerate(members)}
    pat, day, egfr = [], [], []
    end = datetime.combine(on + timedelta(days=1), datetime.min.time(), SHANGHAI)
    for chunk in batched(members.tolist(), columns.CHUNK):
        for mid, t, e in db.execute(select(KidneyResult.member_id, KidneyResult.effective_at,
                                           KidneyResult.egfr)
                                    .where(KidneyResult.member_id.in_(chunk),
                                           KidneyResult.effective_at < end.astimezone(UTC))):
            i = pos[mid]
            pat.append(i)
            day.append((t.astimezone(SHANGHAI).date() - EPOCH).days - start_day[i])
            egfr.append(e)
    res = outcomes.cohort(np.array(pat, dtype=np.int64), np.array(day), np.array(egfr),
                          len(members))
    audit.record(db, actor=actor, action="health.read.outcomes", entity="project",
                 entity_id=project.id, project_id=project.id, detail={"on": on.isoformat()})
    return {"project": project_code, "as_of": on.isoformat()} | outcomes.report(res)


