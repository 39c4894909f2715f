"""The care coordinators' work: the alert queue and acting on alerts, assigning patients to
coordinators, the roster of patients, the alerts raised when a test is overdue, and the counts
of open and overdue alerts by project.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.models import User
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.dates import SHANGHAI, utcnow
from mutua.db import batched
from mutua.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mutua.health import alerting, clinical, columns, rules
from mutua.health.models import OPEN_STATUSES, Alert, AlertNote, CoordinatorAssignment, KidneyResult
from mutua.health.patient_view import alert_out, latest_results, result_out
from mutua.health.patients import EPOCH, audit_read, check_can_see, ckd_projects
from mutua.members.models import Member
from mutua.policies import membership
from mutua.policies.models import Policy

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
    audit_read(db, actor, "alert_queue", None, {"count": len(rows), "offset": offset})
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
    audit_read(db, actor, "patients", None, {"count": len(ids)})
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


def open_alerts_by_patient(db: Session, member_ids: list[int]) -> dict[int, int]:
    """How many alerts of each patient are not yet resolved (counts only, nothing read)."""
    out: dict[int, int] = {}
    for chunk in batched(member_ids, columns.CHUNK):
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
    audit_read(db, actor, "roster", None, {"count": len(ids), "unassigned": unassigned})
    latest = latest_results(db, ids)
    alerts = open_alerts_by_patient(db, ids)
    return [{"member_id": m, "member_number": number, "coordinator_user_id": coordinator,
             "coordinator": username, "latest": latest.get(m), "open_alerts": alerts.get(m, 0)}
            for m, number, coordinator, username in rows], total


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
    day = np.array([(r[1].astimezone(SHANGHAI).date() - EPOCH).days for r in latest.values()])
    g = np.array([clinical.G_CATEGORIES.index(r[2]) for r in latest.values()])
    a = np.array([clinical.A_CATEGORIES.index(r[3]) if r[3] else -1 for r in latest.values()])
    late = np.flatnonzero(rules.overdue(day, g, a, (on - EPOCH).days))
    open_now = alerting.open_alert_keys(db, m[late].tolist())
    now = utcnow()
    new = [{"project_id": latest[int(m[i])][4], "member_id": int(m[i]), "rule": "test_overdue",
            "severity": "low", "severity_rank": 1, "value": float((on - EPOCH).days - day[i]),
            "effective_at": now, "status": "open", "created_at": now, "updated_at": now}
           for i in late if (int(m[i]), "test_overdue") not in open_now]
    for chunk in batched(new, columns.CHUNK):
        db.execute(insert(Alert), chunk)
    audit.record(db, actor=actor, action="health.alerts.overdue", entity="alert", entity_id="-",
                 detail={"raised": len(new), "on": on.isoformat()})
    return len(new)


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
