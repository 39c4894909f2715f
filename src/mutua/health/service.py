"""Kidney monitoring use cases: record results, the coordinators' queue, the patient view,
underwriting on lab results, progression evidence for claims, and the outcomes report.

Who may see a patient's health data: the patient (a member sees only their own), admin,
and care coordinators for patients assigned to them or not yet assigned to anyone. Every
read of health data is written to the audit log.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.models import User
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog.models import Project
from mutua.dates import SHANGHAI, age_on, utcnow
from mutua.db import batched
from mutua.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from mutua.health import alerting, clinical, columns, ingest, outcomes, progression, rules
from mutua.health.advice import PatientState, advise
from mutua.health.kinds import KINDS, normalise_unit
from mutua.health.models import (
    OPEN_STATUSES,
    Alert,
    AlertNote,
    CoordinatorAssignment,
    KidneyResult,
    Observation,
)
from mutua.health.progression import Evidence
from mutua.members.identifiers import member_number_or_none
from mutua.members.models import Member
from mutua.policies import domain as policies_domain
from mutua.policies import membership
from mutua.policies.models import Policy

LAB_MAX_AGE_DAYS = 90
_EPOCH = date(1970, 1, 1)

# ---------------------------------------------------------------- patients and access


def resolve_patients(db: Session, refs: list[str]) -> dict[str, ingest.Patient]:
    """Member references ("M000000123" member numbers, however typed, or "#<id>") -> patients."""
    ids = [int(r[1:]) for r in refs if r.startswith("#") and r[1:].isascii() and r[1:].isdigit()]
    typed = {r: member_number_or_none(r) for r in refs if not r.startswith("#")}
    numbers = sorted({n for n in typed.values() if n is not None})
    rows = []
    for start in range(0, max(len(ids), len(numbers)), columns.CHUNK):
        if ids[start:start + columns.CHUNK]:
            rows += db.execute(select(Member.id, Member.member_number, Member.birth_date,
                                      Member.sex)
                               .where(Member.id.in_(ids[start:start + columns.CHUNK]))).all()
        if numbers[start:start + columns.CHUNK]:
            rows += db.execute(select(Member.id, Member.member_number, Member.birth_date,
                                      Member.sex)
                               .where(Member.member_number.in_(
                                   numbers[start:start + columns.CHUNK]))).all()
    projects = ckd_projects(db, [r[0] for r in rows])
    out: dict[str, ingest.Patient] = {}
    for mid, number, birth, sex in rows:
        p = ingest.Patient(mid, (birth - _EPOCH).days, sex == "F", projects.get(mid))
        out[number] = p
        out[f"#{mid}"] = p
    out.update({ref: out[number] for ref, number in typed.items() if number in out})
    return out


def ckd_projects(db: Session, member_ids: list[int]) -> dict[int, int]:
    """The project of each member's latest CKD policy (the project their data belongs to)."""
    out: dict[int, int] = {}
    for chunk in batched(member_ids, columns.CHUNK):
        for mid, pid in db.execute(
            membership.kidney_policies(Policy.member_id, Policy.project_id)
            .where(Policy.member_id.in_(chunk)).order_by(Policy.cover_start)
        ):
            out[mid] = pid
    return out


def visible_members(db: Session, actor: Principal, member_ids: list[int]) -> set[int]:
    """Which of these patients the caller may see."""
    if actor.role is Role.ADMIN:
        return set(member_ids)
    if actor.is_member:
        return {actor.member_id} & set(member_ids)
    if actor.role is not Role.CARE:
        return set()
    others: set[int] = set()
    for start in range(0, len(member_ids), columns.CHUNK):
        chunk = member_ids[start:start + columns.CHUNK]
        others.update(db.scalars(select(CoordinatorAssignment.member_id).where(
            CoordinatorAssignment.member_id.in_(chunk),
            CoordinatorAssignment.coordinator_user_id != actor.user_id)))
    return set(member_ids) - others


def check_can_see(db: Session, actor: Principal, member_id: int | None) -> Member:
    # None: a staff login on a member's own page (admin may open them) has no patient record.
    member = db.get(Member, member_id) if member_id is not None else None
    if member is None:
        raise NotFound("patient %(member_id)s not found", member_id=member_id)
    if member_id not in visible_members(db, actor, [member_id]):
        raise Forbidden("you may not see this patient's health data")
    return member


def _audit_read(db: Session, actor: Principal, what: str, member_id: int | None,
                detail: dict | None = None) -> None:
    audit.record(db, actor=actor, action=f"health.read.{what}", entity="patient",
                 entity_id=member_id if member_id is not None else "-", detail=detail or {})


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


def observation_out(o: Observation) -> dict:
    return {"id": o.id, "member_id": o.member_id, "kind": o.kind, "loinc": o.loinc,
            "value": o.value, "unit": KINDS[o.kind].unit, "original_value": o.original_value,
            "original_unit": o.original_unit, "effective_at": o.effective_at.isoformat(),
            "source": o.source}


def _results_out(db: Session, ids: list[int]) -> list[dict]:
    if not ids:
        return []
    rows = db.scalars(select(KidneyResult).where(KidneyResult.id.in_(ids))
                      .order_by(KidneyResult.effective_at)).all()
    return [result_out(r) for r in rows]


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


def _alerts_of(db: Session, members: list[int], since: datetime) -> list[Alert]:
    if not members:
        return []
    return list(db.scalars(select(Alert).where(Alert.member_id.in_(members),
                                               Alert.created_at >= since)
                           .order_by(Alert.severity_rank.desc(), Alert.id)))


# ---------------------------------------------------------------- patient view


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
    _audit_read(db, actor, "patient", member_id)
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
    _audit_read(db, actor, "history", member_id, {"kind": kind})
    q = select(Observation).where(Observation.member_id == member_id)
    if kind:
        q = q.where(Observation.kind == kind)
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.scalars(q.order_by(Observation.effective_at.desc(), Observation.id.desc())
                      .limit(limit).offset(offset)).all()
    return [observation_out(o) for o in rows], total


# ---------------------------------------------------------------- coordinators


_NEXT = {"acknowledge": "acknowledged", "contact": "contacted", "resolve": "resolved"}
_ORDER = {"open": 0, "acknowledged": 1, "contacted": 2, "resolved": 3}


def _queue_filter(db: Session, actor: Principal, q):
    if actor.role is Role.CARE:
        mine_or_nobody = select(CoordinatorAssignment.member_id).where(
            CoordinatorAssignment.coordinator_user_id != actor.user_id)
        q = q.where(Alert.member_id.not_in(mine_or_nobody))
    elif actor.role is not Role.ADMIN:
        raise Forbidden("only care coordinators see the alert queue")
    return q


OVERDUE = "overdue"  # the queue filter: open alerts past their time to acknowledge


def overdue_alert(now: datetime):
    """SQL for rules.alert_overdue: open, raised longer ago than its severity allows."""
    return and_(Alert.status == "open", or_(*(
        (Alert.severity_rank == rules.SEVERITY_RANK[s]) & (Alert.created_at < now - within)
        for s, within in rules.ACKNOWLEDGE_WITHIN.items())))


def alert_queue(db: Session, *, actor: Principal, status: str | None = None,
                project_id: int | None = None, limit: int = 50, offset: int = 0
                ) -> tuple[list[dict], int]:
    """Alerts not yet resolved (or of one status), most severe first, oldest first within."""
    q = select(Alert)
    now = utcnow()
    if status == OVERDUE:
        q = q.where(overdue_alert(now))
    elif status:
        if status not in _ORDER:
            raise ValidationFailed("status", "must be one of %(choices)s",
                                   choices=f"{OVERDUE}, {', '.join(_ORDER)}")
        q = q.where(Alert.status == status)
    else:
        q = q.where(Alert.status.in_(OPEN_STATUSES))
    if project_id is not None:
        q = q.where(alert_project() == project_id)
    q = _queue_filter(db, actor, q)
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.scalars(q.order_by(Alert.severity_rank.desc(), Alert.created_at, Alert.id)
                      .limit(limit).offset(offset)).all()
    _audit_read(db, actor, "alert_queue", None, {"count": len(rows), "offset": offset})
    return [alert_out(a, now) for a in rows], total


def act_on_alert(db: Session, *, actor: Principal, alert_id: int, action: str, note: str = ""
                 ) -> dict:
    """Acknowledge, record a contact, or resolve an alert, with a note. Never moves back."""
    if action not in _NEXT:
        raise ValidationFailed("action", "must be acknowledge, contact or resolve")
    if len(note) > 2000:
        raise ValidationFailed("note", "must be at most %(limit)s characters", limit=2000)
    alert = db.get(Alert, alert_id)
    if alert is None:
        raise NotFound("alert %(alert_id)s not found", alert_id=alert_id)
    check_can_see(db, actor, alert.member_id)
    new = _NEXT[action]
    if _ORDER[new] <= _ORDER[alert.status]:
        raise Conflict("alert is already %(status)s", status=alert.status)
    if new == "resolved" and not note.strip():
        raise ValidationFailed("note", "say how the alert was resolved")
    now = utcnow()
    db.execute(update(Alert).where(Alert.id == alert_id).values(status=new, updated_at=now))
    db.execute(insert(AlertNote).values(alert_id=alert_id, at=now, user_id=actor.user_id,
                                        username=actor.username, status=new, note=note.strip()))
    audit.record(db, actor=actor, action=f"health.alert.{action}", entity="alert",
                 entity_id=alert_id, project_id=alert.project_id, detail={"status": new})
    db.refresh(alert)
    return alert_out(alert) | {"notes": alert_notes(db, alert_id=alert_id)}


def alert_notes(db: Session, *, alert_id: int) -> list[dict]:
    return [{"at": n.at.isoformat(), "username": n.username, "status": n.status,
             "note": n.note}
            for n in db.scalars(select(AlertNote).where(AlertNote.alert_id == alert_id)
                                .order_by(AlertNote.id))]


def assign(db: Session, *, actor: Principal, member_id: int, coordinator_user_id: int) -> dict:
    """Assign a patient to a care coordinator (replacing any earlier assignment)."""
    if actor.role is not Role.ADMIN:
        raise Forbidden("only an administrator assigns patients")
    if db.get(Member, member_id) is None:
        raise NotFound("patient %(member_id)s not found", member_id=member_id)
    user = db.get(User, coordinator_user_id)
    if user is None or user.role != Role.CARE.value or not user.active:
        raise ValidationFailed("coordinator_user_id", "must be an active care coordinator")
    project = ckd_projects(db, [member_id]).get(member_id)
    row = db.scalar(select(CoordinatorAssignment)
                    .where(CoordinatorAssignment.member_id == member_id))
    if row is None:
        db.add(CoordinatorAssignment(member_id=member_id, project_id=project,
                                     coordinator_user_id=coordinator_user_id,
                                     assigned_by=actor.user_id))
    else:
        row.coordinator_user_id = coordinator_user_id
        row.assigned_at = utcnow()
        row.assigned_by = actor.user_id
    db.flush()
    audit.record(db, actor=actor, action="health.assign", entity="patient",
                 entity_id=member_id, project_id=project,
                 detail={"coordinator_user_id": coordinator_user_id})
    return {"member_id": member_id, "coordinator_user_id": coordinator_user_id}


def my_patients(db: Session, *, actor: Principal, limit: int = 50, offset: int = 0
                ) -> tuple[list[dict], int]:
    """The patients assigned to the calling coordinator."""
    q = select(CoordinatorAssignment.member_id).where(
        CoordinatorAssignment.coordinator_user_id == actor.user_id)
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    ids = list(db.scalars(q.order_by(CoordinatorAssignment.member_id).limit(limit)
                          .offset(offset)))
    _audit_read(db, actor, "patients", None, {"count": len(ids)})
    latest = {r.member_id: r for r in db.scalars(
        select(KidneyResult).where(KidneyResult.member_id.in_(ids))
        .order_by(KidneyResult.effective_at))} if ids else {}
    return [{"member_id": m, "latest": result_out(latest[m]) if m in latest else None}
            for m in ids], total


def care_coordinators(db: Session) -> list[dict]:
    """Every care coordinator login, active or not, by name (a handful of rows).

    The assignment form offers the active ones; a page names an inactive one who still
    holds patients.
    """
    rows = db.execute(select(User.id, User.username, User.display_name, User.active)
                      .where(User.role == Role.CARE.value).order_by(User.username)).all()
    return [{"user_id": i, "username": u, "display_name": d, "active": bool(a)}
            for i, u, d, a in rows]


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


def open_alerts_by_patient(db: Session, member_ids: list[int]) -> dict[int, int]:
    """How many alerts of each patient are not yet resolved (counts only, nothing read)."""
    out: dict[int, int] = {}
    for start in range(0, len(member_ids), columns.CHUNK):
        chunk = member_ids[start:start + columns.CHUNK]
        out.update({int(m): int(n) for m, n in db.execute(
            select(Alert.member_id, func.count(Alert.id))
            .where(Alert.member_id.in_(chunk), Alert.status.in_(OPEN_STATUSES))
            .group_by(Alert.member_id))})
    return out


def patient_roster(db: Session, *, actor: Principal, unassigned: bool = False,
                   limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Kidney patients (holders of a CKD policy) with their coordinator, a page at a time.

    For the administrator who assigns coordinators (分配个案管理师): ``unassigned`` keeps
    only the patients nobody looks after yet. A care coordinator sees the patients they
    may see: their own and the unassigned. Each row carries the latest result and the
    count of open alerts::

        {"member_id": 7, "member_number": "M000000007", "coordinator_user_id": None,
         "coordinator": None, "latest": {...} | None, "open_alerts": 2}
    """
    if actor.role not in (Role.ADMIN, Role.CARE):
        raise Forbidden("only care coordinators see the patient list")
    ckd = membership.kidney_policies(Policy.member_id)
    q = (select(Member.id, Member.member_number, CoordinatorAssignment.coordinator_user_id,
                User.username)
         .outerjoin(CoordinatorAssignment, CoordinatorAssignment.member_id == Member.id)
         .outerjoin(User, User.id == CoordinatorAssignment.coordinator_user_id)
         .where(Member.id.in_(ckd)))
    if unassigned:
        q = q.where(CoordinatorAssignment.id.is_(None))
    elif actor.role is Role.CARE:
        q = q.where((CoordinatorAssignment.id.is_(None))
                    | (CoordinatorAssignment.coordinator_user_id == actor.user_id))
    total = db.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.execute(q.order_by(Member.id).limit(limit).offset(offset)).all()
    ids = [r[0] for r in rows]
    _audit_read(db, actor, "roster", None, {"count": len(ids), "unassigned": unassigned})
    latest = latest_results(db, ids)
    alerts = open_alerts_by_patient(db, ids)
    return [{"member_id": m, "member_number": number, "coordinator_user_id": coordinator,
             "coordinator": username, "latest": latest.get(m), "open_alerts": alerts.get(m, 0)}
            for m, number, coordinator, username in rows], total


# ---------------------------------------------------------------- overdue tests


def raise_overdue_alerts(db: Session, *, on: date, actor: Principal) -> int:
    """An alert for each patient whose next test (by heat-map cell) is past due plus grace."""
    last = (select(KidneyResult.member_id, func.max(KidneyResult.effective_at).label("t"))
            .group_by(KidneyResult.member_id).subquery())
    rows = db.execute(
        select(KidneyResult.member_id, KidneyResult.effective_at, KidneyResult.g_category,
               KidneyResult.a_category, KidneyResult.project_id)
        .join(last, (last.c.member_id == KidneyResult.member_id)
              & (last.c.t == KidneyResult.effective_at))).all()
    if not rows:
        return 0
    latest = {r[0]: r for r in rows}  # one row per patient (two results at the same moment)
    m = np.array(list(latest), dtype=np.int64)
    day = np.array([(r[1].astimezone(SHANGHAI).date() - _EPOCH).days for r in latest.values()])
    g = np.array([clinical.G_CATEGORIES.index(r[2]) for r in latest.values()])
    a = np.array([clinical.A_CATEGORIES.index(r[3]) if r[3] else -1 for r in latest.values()])
    late = np.flatnonzero(rules.overdue(day, g, a, (on - _EPOCH).days))
    open_now = alerting.open_alert_keys(db, m[late].tolist())
    now = utcnow()
    new = [{"project_id": latest[int(m[i])][4], "member_id": int(m[i]), "rule": "test_overdue",
            "severity": "low", "severity_rank": 1, "value": float((on - _EPOCH).days - day[i]),
            "effective_at": now, "status": "open", "created_at": now, "updated_at": now}
           for i in late if (int(m[i]), "test_overdue") not in open_now]
    for start in range(0, len(new), columns.CHUNK):
        db.execute(insert(Alert), new[start:start + columns.CHUNK])
    audit.record(db, actor=actor, action="health.alerts.overdue", entity="alert", entity_id="-",
                 detail={"raised": len(new), "on": on.isoformat()})
    return len(new)


# ---------------------------------------------------------------- underwriting and claims


def _lab(db: Session, member_id: int, kind: str, on: date):
    start = datetime.combine(on - timedelta(days=LAB_MAX_AGE_DAYS), datetime.min.time(),
                             SHANGHAI)
    end = datetime.combine(on + timedelta(days=1), datetime.min.time(), SHANGHAI)
    return db.scalar(select(Observation).where(
        Observation.member_id == member_id, Observation.kind == kind,
        Observation.effective_at >= start.astimezone(UTC),
        Observation.effective_at < end.astimezone(UTC))
        .order_by(Observation.effective_at.desc()).limit(1))


def _a_category(acr: Observation) -> str:
    """A stored ratio's albuminuria category, read in the unit its lab reported."""
    a = ingest.stored_acr_index(np.array([acr.value]), np.array([acr.original_value], object),
                                np.array([acr.original_unit], object))
    return clinical.A_CATEGORIES[int(a[0])]


def kidney_labs(db: Session, *, member_id: int, on: date) -> policies_domain.KidneyLabs:
    """The applicant's GFR category (latest creatinine) and albuminuria category (latest
    ACR), each from a result no older than LAB_MAX_AGE_DAYS on ``on``."""
    member = db.get(Member, member_id)
    if member is None:
        raise NotFound("member %(member)s not found", member=member_id)
    labs = policies_domain.KidneyLabs(max_age_days=LAB_MAX_AGE_DAYS)
    cr = _lab(db, member_id, "creatinine", on)
    if cr is None:
        return labs
    tested = cr.effective_at.astimezone(SHANGHAI).date()
    egfr = round(float(clinical.egfr_cr_array(np.array([cr.value]),
                                              np.array([age_on(member.birth_date, tested)]),
                                              np.array([member.sex == "F"]))[0]), 1)
    acr = _lab(db, member_id, "acr", on)
    return policies_domain.KidneyLabs(clinical.g_category(egfr), egfr, tested,
                                      _a_category(acr) if acr is not None else None,
                                      LAB_MAX_AGE_DAYS)


def underwrite(db: Session, *, member_id: int, product, on: date) -> str:
    """The applicant's stage from their own stored labs (核保), or why the product refuses.

    The creatinine (and the ACR when ``product.underwriting['needs_acr']``) must be no
    older than 90 days on ``on``; the stage must be in ``underwriting['stages']`` (and the
    albuminuria in ``underwriting['albuminuria']`` when the product lists it): the rule is
    policies.domain.kidney_problems. Returns "G3a", or "G2/A2" when the ACR is part of the
    underwriting.
    """
    uw = dict(product.underwriting or {})
    labs = kidney_labs(db, member_id=member_id, on=on)
    problems = policies_domain.kidney_problems(uw, labs)
    if problems:
        raise ValidationFailed(problems)
    return f"{labs.g}/{labs.a}" if uw.get("needs_acr") or uw.get("albuminuria") else labs.g


def confirmed_progression(db: Session, *, member_id: int, on: date) -> Evidence:
    """Is a CKD progression confirmed by stored results up to ``on``? For the claims engine."""
    end = datetime.combine(on + timedelta(days=1), datetime.min.time(), SHANGHAI)
    rows = db.execute(select(KidneyResult.effective_at, KidneyResult.egfr)
                      .where(KidneyResult.member_id == member_id,
                             KidneyResult.effective_at < end.astimezone(UTC))).all()
    days = [(t.astimezone(SHANGHAI).date() - _EPOCH).days for t, _ in rows]
    return progression.evidence(days, [e for _, e in rows])


# ---------------------------------------------------------------- outcomes


def outcomes_report(db: Session, *, project_code: str, on: date, actor: Principal) -> dict:
    """The cohort report for a project (see mutua.health.outcomes for the method)."""
    project = db.scalar(select(Project).where(Project.code == project_code))
    if project is None:
        raise NotFound("project %(project_code)s not found", project_code=project_code)
    enrolled = db.execute(
        membership.kidney_policies(Policy.member_id, func.min(Policy.cover_start))
        .where(Policy.project_id == project.id, Policy.cover_start <= on)
        .group_by(Policy.member_id)).all()
    members = np.array([m for m, _ in enrolled], dtype=np.int64)
    start_day = np.array([(d - _EPOCH).days for _, d in enrolled], dtype=np.int64)
    pos = {int(m): i for i, m in enumerate(members)}
    pat, day, egfr = [], [], []
    end = datetime.combine(on + timedelta(days=1), datetime.min.time(), SHANGHAI)
    for s in range(0, len(members), columns.CHUNK):
        chunk = members[s:s + columns.CHUNK].tolist()
        for mid, t, e in db.execute(select(KidneyResult.member_id, KidneyResult.effective_at,
                                           KidneyResult.egfr)
                                    .where(KidneyResult.member_id.in_(chunk),
                                           KidneyResult.effective_at < end.astimezone(UTC))):
            i = pos[mid]
            pat.append(i)
            day.append((t.astimezone(SHANGHAI).date() - _EPOCH).days - start_day[i])
            egfr.append(e)
    res = outcomes.cohort(np.array(pat, dtype=np.int64), np.array(day), np.array(egfr),
                          len(members))
    audit.record(db, actor=actor, action="health.read.outcomes", entity="project",
                 entity_id=project.id, project_id=project.id, detail={"on": on.isoformat()})
    return {"project": project_code, "as_of": on.isoformat()} | outcomes.report(res)


def evidence_dict(e: Evidence) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(e).items()}


def alert_project():
    """SQL for an alert's project: its own, or, when it was raised before its patient held a
    kidney policy (results sent before enrolment), the project of the patient's latest one;
    NULL for a patient who never held one."""
    latest = (membership.kidney_policies(Policy.project_id)
              .where(Policy.member_id == Alert.member_id)
              .order_by(Policy.cover_start.desc(), Policy.id.desc()).limit(1)
              .correlate(Alert).scalar_subquery())
    return func.coalesce(Alert.project_id, latest)


def overdue_alert_counts(db: Session, *, now: datetime | None = None) -> dict[int | None, int]:
    """Open alerts past their time to acknowledge, per project, as the queue's overdue filter
    counts them (the dashboard's figure links to that filter). Counts only: not audited."""
    late = (select(alert_project().label("project_id"))
            .where(overdue_alert(now or utcnow())).subquery())
    return {pid: int(n) for pid, n in db.execute(
        select(late.c.project_id, func.count()).group_by(late.c.project_id))}


def open_alert_counts(db: Session) -> dict[int | None, int]:
    """Alerts not yet resolved, per project (None: the patient holds no kidney policy), for
    the dashboard; together they are the coordinators' whole queue.

    Counts only: no patient is read, so nothing is audited.
    """
    open_ = (select(alert_project().label("project_id"))
             .where(Alert.status.in_(OPEN_STATUSES)).subquery())
    rows = db.execute(select(open_.c.project_id, func.count())
                      .group_by(open_.c.project_id)).all()
    return {pid: int(n) for pid, n in rows}
