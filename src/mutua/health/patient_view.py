"""The patient view: a patient's latest values and results, the schedule of the next tests, the
advice for where they stand, their history, and the shapes results and alerts are shown in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.auth.security import Principal
from mutua.dates import SHANGHAI, age_on, utcnow
from mutua.health import clinical, columns, rules
from mutua.health.advice import PatientState, advise
from mutua.health.kinds import KINDS, normalise_unit
from mutua.health.models import Alert, CoordinatorAssignment, KidneyResult, Observation
from mutua.health.patients import audit_read, check_can_see


def observation_out(o: Observation) -> dict:
    return {"id": o.id, "member_id": o.member_id, "kind": o.kind, "loinc": o.loinc,
            "value": o.value, "unit": KINDS[o.kind].unit, "original_value": o.original_value,
            "original_unit": o.original_unit, "effective_at": o.effective_at.isoformat(),
            "source": o.source}


def result_out(r: KidneyResult) -> dict:
    return {"id": r.id, "member_id": r.member_id, "observation_id": r.observation_id,
            "effective_at": r.effective_at.isoformat(), "egfr": r.egfr,
            "equation": r.equation, "g_category": r.g_category, "acr_mg_g": r.acr_mg_g,
            "a_category": r.a_category, "risk": r.risk, "risk_2y": r.risk_2y,
            "risk_5y": r.risk_5y, "slope": r.slope}


def alert_out(a: Alert, now: datetime | None = None) -> dict:
    _, en, zh = rules.RULES[a.rule]
    return {"id": a.id, "member_id": a.member_id, "project_id": a.project_id, "rule": a.rule,
            "severity": a.severity, "value": a.value, "message_en": en, "message_zh": zh,
            "status": a.status, "effective_at": a.effective_at.isoformat() if a.effective_at
            else None, "created_at": a.created_at.isoformat(),
            "acknowledge_by": rules.acknowledge_by(a.severity, a.created_at).isoformat(),
            "overdue": rules.alert_overdue(a.status, a.severity, a.created_at,
                                           now or utcnow())}


def latest_values(db: Session, member_id: int) -> dict[str, float]:
    """The latest value of each kind for one patient."""
    sub = (select(Observation.kind, func.max(Observation.effective_at).label("t"))
           .where(Observation.member_id == member_id).group_by(Observation.kind).subquery())
    rows = db.execute(select(Observation.kind, Observation.value)
                      .join(sub, (sub.c.kind == Observation.kind)
                            & (sub.c.t == Observation.effective_at))
                      .where(Observation.member_id == member_id)).all()
    return {k: v for k, v in rows}


def latest_result(db: Session, member_id: int) -> KidneyResult | None:
    return db.scalar(select(KidneyResult).where(KidneyResult.member_id == member_id)
                     .order_by(KidneyResult.effective_at.desc(), KidneyResult.id.desc())
                     .limit(1))


def schedule(r: KidneyResult | None) -> dict | None:
    """Testing schedule from the latest result's heat-map cell (KDIGO monitoring frequency)."""
    if r is None:
        return None
    g = clinical.G_CATEGORIES.index(r.g_category)
    a = clinical.A_CATEGORIES.index(r.a_category) if r.a_category else -1
    per_year = int(rules.monitoring_per_year(np.array([g]), np.array([a]))[0])
    interval = int(rules.test_interval_days(np.array([g]), np.array([a]))[0])
    last = r.effective_at.astimezone(SHANGHAI).date()
    due = last + timedelta(days=interval)
    return {"tests_per_year": per_year, "last_test": last.isoformat(), "next_due": due.isoformat(),
            "overdue_after": (due + timedelta(days=rules.OVERDUE_GRACE_DAYS)).isoformat()}


def _latest_acr(db: Session, member_id: int) -> dict:
    """The latest urine ACR as its lab reported it: ``{"acr": 3.0, "acr_unit": "mg/mmol"}``
    (empty when none), since advice compares it with limits set in each unit."""
    o = db.scalar(select(Observation).where(Observation.member_id == member_id,
                                            Observation.kind == "acr")
                  .order_by(Observation.effective_at.desc(), Observation.id.desc()).limit(1))
    if o is None:
        return {}
    sent, ok = columns.parse_values([o.original_value])
    if ok[0] and normalise_unit(o.original_unit) == "mg/mmol":
        return {"acr": float(sent[0]), "acr_unit": "mg/mmol"}
    return {"acr": o.value, "acr_unit": "mg/g"}


def patient_advice(db: Session, *, member_id: int) -> list:
    r = latest_result(db, member_id)
    v = latest_values(db, member_id)
    sched = schedule(r)
    state = PatientState(
        egfr=r.egfr if r else None, g_category=r.g_category if r else None,
        a_category=r.a_category if r else None, **_latest_acr(db, member_id),
        systolic=v.get("systolic"), hba1c=v.get("hba1c"), potassium=v.get("potassium"),
        risk_5y=r.risk_5y if r else None, slope=r.slope if r else None,
        tests_per_year=sched["tests_per_year"] if sched else None,
    )
    return advise(state)


def patient_view(db: Session, *, actor: Principal, member_id: int, history_limit: int = 100
                 ) -> dict:
    """One patient's kidney picture: latest result, history, open alerts, advice, schedule."""
    member = check_can_see(db, actor, member_id)
    audit_read(db, actor, "patient", member_id)
    r = latest_result(db, member_id)
    results = db.scalars(select(KidneyResult).where(KidneyResult.member_id == member_id)
                         .order_by(KidneyResult.effective_at.desc()).limit(history_limit)).all()
    alerts = db.scalars(select(Alert).where(Alert.member_id == member_id)
                        .order_by(Alert.created_at.desc()).limit(100)).all()
    coordinator = db.scalar(select(CoordinatorAssignment.coordinator_user_id)
                            .where(CoordinatorAssignment.member_id == member_id))
    return {
        "member_id": member.id, "member_number": member.member_number, "sex": member.sex,
        "age": age_on(member.birth_date, utcnow().astimezone(SHANGHAI).date()),
        "coordinator_user_id": coordinator,
        "latest": result_out(r) if r else None,
        "latest_values": latest_values(db, member_id),
        "results": [result_out(x) for x in reversed(results)],
        "alerts": [alert_out(a) for a in alerts],
        "advice": [a.to_dict() for a in patient_advice(db, member_id=member_id)],
        "schedule": schedule(r),
    }


def history(db: Session, *, actor: Principal, member_id: int, kind: str | None = None,
            limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """A patient's observations, newest first, a page at a time."""
    check_can_see(db, actor, member_id)
    audit_read(db, actor, "history", member_id, {"kind": kind})
    q = select(Observation).where(Observation.member_id == member_id)
    if kind:
        q = q.where(Observation.kind == kind)
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.scalars(q.order_by(Observation.effective_at.desc(), Observation.id.desc())
                      .limit(limit).offset(offset)).all()
    return [observation_out(o) for o in rows], total


def latest_results(db: Session, member_ids: list[int]) -> dict[int, dict]:
    """Each patient's latest kidney result, in one query per chunk of patients."""
    out: dict[int, dict] = {}
    for start in range(0, len(member_ids), columns.CHUNK):
        chunk = member_ids[start:start + columns.CHUNK]
        last = (select(KidneyResult.member_id, func.max(KidneyResult.effective_at).label("t"))
                .where(KidneyResult.member_id.in_(chunk))
                .group_by(KidneyResult.member_id).subquery())
        rows = db.scalars(select(KidneyResult).join(
            last, (last.c.member_id == KidneyResult.member_id)
            & (last.c.t == KidneyResult.effective_at)).order_by(KidneyResult.id))
        out.update({r.member_id: result_out(r) for r in rows})  # two at one moment: last id
    return out
