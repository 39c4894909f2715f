"""The kidney part of the demo mutual: a few thousand synthetic CKD patients (肾病患者).

Each patient has a true eGFR path: a slope before enrolment (some fast decliners, losing 6 to
10 a year), and after enrolment either about the same slope or, for about a third, a slower
one. Lab results are drawn around that path: creatinine from the inverse of CKD-EPI 2021
with 5% multiplicative noise (the usual analytical plus within-person variation), urine ACR,
blood pressure, potassium and (in G4-G5) hemoglobin. Results before enrolment go in first;
each patient is then underwritten on their own latest labs and enrolled in the matching
product of the kidney matrix; results after enrolment follow, so alerts open in the queue.
A year on, each patient who still tests renews, underwritten again (into the product of
their stage now, if it has moved), so the project has cover in force today.

Alerts are stamped with the day their result arrived, and the care coordinators have worked
the queue as a team does: each alert is acknowledged, the patient contacted and the alert
resolved within days to weeks (the more severe, the sooner), with a note at each step; what
is left open is the last few weeks' work and this morning's overdue tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.models import User
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.models import Product, Project, SalePeriod
from mutua.catalog.schemas import PeriodDef
from mutua.dates import SHANGHAI
from mutua.demo.people import GUANGDONG, SHENZHEN, people
from mutua.errors import DomainError
from mutua.health import columns, coordination, ingest, patient_view, service
from mutua.health import patients as health_patients
from mutua.health.models import (
    OPEN_STATUSES,
    Alert,
    AlertNote,
    CoordinatorAssignment,
    KidneyResult,
)
from mutua.members import service as members_service
from mutua.members.service import ValidMember
from mutua.policies import domain as policies_domain
from mutua.policies import service as policies_service
from mutua.policies.models import Policy

PATIENTS = 2000
_EPOCH = date(1970, 1, 1)
CREATININE_CV = 0.05
SLOWED_SHARE = 0.22
FAST_SHARE = 0.15
LAPSED_SHARE = 0.08  # patients who stopped testing months ago: their tests fall overdue

# segment: (share, eGFR at enrolment low-high, products to pick from)
SEGMENTS = {
    "early": (0.14, (62, 100), ("KID-EARLY-BASIC", "KID-EARLY-PLUS")),
    "g3a": (0.24, (47, 58), ("KID-G3A-BASIC", "KID-G3A-PLUS", "KID-G3A-DIAL")),
    "g3b": (0.24, (32, 43), ("KID-G3B-BASIC", "KID-G3B-PLUS", "KID-G3B-CASH")),
    "g4": (0.16, (17, 28), ("KID-G4-BASIC", "KID-G4-PLUS")),
    "g5": (0.08, (9, 13.5), ("KID-G5-PRE", "KID-G5-PRE-PLUS")),
    "dialysis": (0.07, (5, 9), ("KID-DIAL-ALLOW", "KID-DIAL-PLUS")),
    "transplant": (0.07, (38, 70), ("KID-TX-BASIC", "KID-TX-PLUS")),
}
# Products by the stage underwriting will compute, for when noise moves a patient across.
BY_STAGE = {"G1": "KID-EARLY-BASIC", "G2": "KID-EARLY-PLUS", "G3a": "KID-G3A-BASIC",
            "G3b": "KID-G3B-BASIC", "G4": "KID-G4-BASIC", "G5": "KID-G5-PRE"}


def creatinine_for(egfr, age, female) -> np.ndarray:
    """Serum creatinine (mg/dL) that gives ``egfr`` by CKD-EPI 2021: the equation inverted."""
    egfr = np.asarray(egfr, dtype=np.float64)
    f = np.asarray(female, dtype=bool)
    c = 142.0 * 0.9938 ** np.asarray(age, dtype=np.float64) * np.where(f, 1.012, 1.0)
    ratio = egfr / c
    r = np.where(ratio <= 1.0, ratio ** (-1 / 1.2), ratio ** (1 / np.where(f, -0.241, -0.302)))
    return r * np.where(f, 0.7, 0.9)


def build(db: Session, *, rng: np.random.Generator, today: date, actor: Principal,
          patients: int = PATIENTS) -> dict:
    """Create patients, their labs, policies in the kidney matrix and open alerts."""
    project = _kidney_project(db, today=today, actor=actor)
    member_ids, birth_day, female = _register(db, rng, patients, today)
    audit.record(db, actor=actor, action="member.register_many", entity="member",
                 entity_id="demo:health", detail={"count": len(member_ids)})
    plan = _plan(rng, len(member_ids), today)
    now = datetime.combine(today, datetime.max.time().replace(microsecond=0), SHANGHAI)
    pre = plan["day"] < plan["enrol"][plan["who"]]
    raw_pre = _labs(rng, plan, member_ids, birth_day, female, pre)
    out_pre = service.import_records(db, actor=actor, raw=raw_pre, source="demo", now=now)
    periods = _periods(db, project)
    enrolled = _enrol(db, rng, plan, member_ids, periods, actor)
    raw_post = _labs(rng, plan, member_ids, birth_day, female, ~pre)
    out_post = service.import_records(db, actor=actor, raw=raw_post, source="demo", now=now)
    renewed = _renew(db, project, periods, today, actor)
    _stamp_arrival(db, rng)
    overdue = coordination.raise_overdue_alerts(db, on=today, actor=actor)
    assigned = _assign_coordinators(db, member_ids)
    handled = _work_the_queue(db, rng, today=today)
    by_status = dict(db.execute(select(Alert.status, func.count()).group_by(Alert.status)).all())
    report = service.outcomes_report(db, project_code=project.code, on=today, actor=actor)
    return {
        "patients": len(member_ids),
        "enrolled": sum(enrolled.values()),
        "by_product": enrolled,
        "renewed": renewed,
        "observations": out_pre.accepted + out_post.accepted,
        "alerts_open": sum(n for st, n in by_status.items() if st in OPEN_STATUSES),
        "alerts": by_status,
        "alerts_handled": handled,
        "overdue_alerts": overdue,
        "assigned_to_coordinators": assigned,
        "slowed_share": report["slowed"]["share"],
        "included_in_outcomes": report["included"],
    }


def _kidney_project(db: Session, *, today: date, actor: Principal) -> Project:
    project = db.scalar(select(Project).where(Project.code == "KIDNEY"))
    if project is None or not db.scalar(select(Product.id).where(
            Product.project_id == project.id, Product.line == "ckd").limit(1)):
        defn = catalog_service.parse_definition(_ckd_yaml().read_text(encoding="utf-8"))
        catalog_service.load_definition(db, defn=defn, actor=actor)
        project = db.scalar(select(Project).where(Project.code == "KIDNEY"))
    return project


def _ckd_yaml():
    from pathlib import Path

    return Path(catalog_service.__file__).with_name("products") / "ckd.yaml"


def _register(db: Session, rng, n: int, today: date):
    crowd = people(rng, n, ages=(35, 78), on=today, occupations={"A0103": 1},
                   areas=SHENZHEN + GUANGDONG, cities=("深圳",), age_mode=62)
    rows = [ValidMember(crowd.name[i], crowd.id_number[i], crowd.birth_date[i], crowd.sex[i],
                        crowd.phone[i], crowd.occupation_code[i], crowd.occupation_class[i],
                        crowd.city[i]) for i in range(len(crowd))]
    by_number = members_service.register_many(db, rows)
    ids = np.array([by_number[r.id_number] for r in rows], dtype=np.int64)
    birth = np.array([(r.birth_date - _EPOCH).days for r in rows], dtype=np.int64)
    female = np.array([r.sex == "F" for r in rows], dtype=bool)
    return ids, birth, female


def _plan(rng, n: int, today: date) -> dict:
    """Per patient: segment, eGFR at enrolment, slopes; per reading: patient and day."""
    names = list(SEGMENTS)
    shares = np.array([SEGMENTS[s][0] for s in names])
    seg = rng.choice(len(names), n, p=shares / shares.sum())
    lo = np.array([SEGMENTS[names[s]][1][0] for s in seg])
    hi = np.array([SEGMENTS[names[s]][1][1] for s in seg])
    e0 = rng.uniform(lo, hi)
    fast = rng.random(n) < FAST_SHARE
    s_pre = np.where(fast, rng.uniform(-10, -6, n), rng.normal(-2.5, 1.5, n))
    s_pre = np.where(seg == names.index("dialysis"), rng.normal(-0.3, 0.3, n), s_pre)
    slowed = rng.random(n) < SLOWED_SHARE
    s_post = np.where(slowed, np.minimum(s_pre + rng.uniform(1.5, 4.5, n), 0.5),
                      s_pre + rng.normal(0, 0.7, n))
    today_day = (today - _EPOCH).days
    enrol = today_day - rng.integers(400, 700, n)
    # before enrolment: three tests in the two years before, and the underwriting test
    pre_days = np.sort(rng.uniform(-700, -60, (n, 3)), axis=1)
    pre_days = np.concatenate([pre_days, np.full((n, 1), -20.0)], axis=1).astype(np.int64)
    who_pre = np.repeat(np.arange(n), 4)
    # after enrolment: about every quarter until today
    k = ((today_day - enrol - 30) // 95 + 1).clip(min=0)
    who_post = np.repeat(np.arange(n), k)
    j = np.arange(len(who_post)) - np.repeat(np.cumsum(k) - k, k)
    post_days = (30 + 95 * j + rng.integers(-10, 11, len(j))).astype(np.int64)
    post_days = np.minimum(post_days, today_day - enrol[who_post] - 1)
    lapsed = rng.random(n) < LAPSED_SHARE
    last_ok = np.where(lapsed, today_day - enrol - rng.integers(200, 320, n), 10**6)
    stay = post_days <= last_ok[who_post]
    who_post, post_days = who_post[stay], post_days[stay]
    who = np.concatenate([who_pre, who_post])
    rel = np.concatenate([pre_days.ravel(), post_days])
    true = e0[who] + np.where(rel < 0, s_pre[who], s_post[who]) * rel / 365.25
    return {"segment": seg, "names": names, "e0": e0, "enrol": enrol, "who": who,
            "day": enrol[who] + rel, "true_egfr": np.clip(true, 4, 130)}


def _labs(rng, plan, member_ids, birth_day, female, mask) -> ingest.RawRecords:
    who = plan["who"][mask]
    day = plan["day"][mask]
    n = len(who)
    age = (day - birth_day[who]) / 365.25
    scr = creatinine_for(plan["true_egfr"][mask], age, female[who])
    scr = np.round(scr * rng.lognormal(0, CREATININE_CV, n), 2).clip(0.3, 24)
    seg = plan["segment"][who]
    early = seg == plan["names"].index("early")
    base_acr = np.where(early, rng.uniform(40, 600, n), rng.lognormal(4.2, 1.2, n))
    acr = np.round(base_acr.clip(3, 5000), 1)
    systolic = np.round(rng.normal(132, 13, n)).clip(95, 210)
    potassium = np.round(rng.normal(4.6, 0.45, n), 1).clip(2.8, 7.2)
    late = (seg == plan["names"].index("g4")) | (seg >= plan["names"].index("g5"))
    hb = np.round(rng.normal(11.2, 1.3, n), 1).clip(6, 17)
    when = np.array([(_EPOCH + timedelta(days=int(d))).isoformat() + "T08:30:00"
                     for d in day], dtype=object)
    ref = np.array([f"#{m}" for m in member_ids[who]], dtype=object)
    cols = [("2160-0", scr, "mg/dL", np.ones(n, bool)),
            ("9318-7", acr, "mg/g", np.ones(n, bool)),
            ("8480-6", systolic, "mmHg", rng.random(n) < 0.7),
            ("2823-3", potassium, "mmol/L", rng.random(n) < 0.5),
            ("718-7", hb, "g/dL", late)]
    raw = ingest.RawRecords()
    for code, values, unit, keep in cols:
        k = int(keep.sum())
        raw.member_ref += ref[keep].tolist()
        raw.code += [code] * k
        raw.value += values[keep].tolist()
        raw.unit += [unit] * k
        raw.effective += when[keep].tolist()
    raw.record = list(range(len(raw.code)))
    return raw


def _periods(db: Session, project: Project) -> dict[str, list[tuple[date, date, str]]]:
    """Each kidney product's sale periods: (sale start, sale end, period code)."""
    periods: dict[str, list[tuple[date, date, str]]] = {}
    for code, start, end, pcode in db.execute(
            select(Product.code, SalePeriod.sale_start, SalePeriod.sale_end, SalePeriod.code)
            .join(SalePeriod, SalePeriod.product_id == Product.id)
            .where(Product.project_id == project.id)):
        periods.setdefault(code, []).append((start, end, pcode))
    return periods


def _enrol(db: Session, rng, plan, member_ids, periods, actor) -> dict[str, int]:
    """Underwrite each patient on their own labs and enrol them in a matching product."""
    counts: dict[str, int] = {}
    names = plan["names"]
    for i, mid in enumerate(member_ids.tolist()):
        on = _EPOCH + timedelta(days=int(plan["enrol"][i]))
        choices = SEGMENTS[names[plan["segment"][i]]][2]
        code = _underwritten_enrolment(db, mid, choices[int(rng.integers(len(choices)))], on,
                                       periods, actor)
        if code is not None:
            counts[code] = counts.get(code, 0) + 1
    return counts


def _declared(db: Session, product_code: str) -> dict[str, str]:
    """Demo patients declare none of the risks their product refuses."""
    product = catalog_service.get_product(db, code=product_code)
    return policies_domain.clean_declaration((product.underwriting or {}).get("declaration", []))


def _underwritten_enrolment(db: Session, member_id: int, product_code: str, on: date,
                            periods, actor) -> str | None:
    """Enrol in ``product_code`` if underwriting takes the patient, else in the product of
    the stage their labs show (noise or progression moved them); the product taken, or None."""
    for attempt in (product_code, None):
        code = attempt or BY_STAGE.get(_stage_hint(db, member_id, on) or "")
        if code is None:
            return None
        period = next((p for s, e, p in periods.get(code, []) if s <= on <= e), None)
        if period is None:
            period = _open_year(db, code, on, actor)
            periods.setdefault(code, []).append(
                (date(on.year, 1, 1), date(on.year, 12, 31), period))
        try:
            with db.begin_nested():
                policies_service.enrol(db, member_id=member_id, product_code=code,
                                       period_code=period, actor=actor, on=on,
                                       declaration=_declared(db, code))
            return code
        except DomainError:
            continue
    return None


def _renew(db: Session, project: Project, periods, today: date, actor) -> int:
    """Patients whose year of cover has ended renew the day after, underwritten on their
    labs again; those who stopped testing (no result in the last 90 days) cannot."""
    ended = db.execute(
        select(Policy.member_id, Product.code, func.max(Policy.cover_end))
        .join(Product, Product.id == Policy.product_id)
        .where(Policy.project_id == project.id)
        .group_by(Policy.member_id, Product.code).order_by(Policy.member_id)).all()
    renewed = 0
    for member_id, code, cover_end in ended:
        on = cover_end + timedelta(days=1)
        if on <= today and _underwritten_enrolment(db, member_id, code, on, periods,
                                                   actor) is not None:
            renewed += 1
    return renewed


def _open_year(db: Session, product_code: str, on: date, actor) -> str:
    """A calendar-year sale period for a demo date the catalogue's periods do not reach."""
    code = f"{on.year}P1"
    start = date(on.year, 1, 1)
    catalog_service.create_period(db, product_code=product_code, actor=actor, period=PeriodDef(
        code=code, sale_start=start, sale_end=date(on.year, 12, 31), cover_start=start))
    return code


def _stage_hint(db: Session, member_id: int, on: date) -> str | None:
    """The GFR category of the patient's latest result on or before ``on``."""
    end = datetime.combine(on + timedelta(days=1), datetime.min.time(), SHANGHAI)
    return db.scalar(select(KidneyResult.g_category)
                     .where(KidneyResult.member_id == member_id,
                            KidneyResult.effective_at < end.astimezone(UTC))
                     .order_by(KidneyResult.effective_at.desc(), KidneyResult.id.desc())
                     .limit(1))


def _assign_coordinators(db: Session, member_ids: np.ndarray) -> int:
    """Spread patients round-robin over the care coordinators, if the demo has any."""
    coordinators = list(db.scalars(select(User.id).where(User.role == Role.CARE.value,
                                                         User.active.is_(True))
                                   .order_by(User.id)))
    if not coordinators:
        return 0
    taken = set(db.scalars(select(CoordinatorAssignment.member_id)))
    projects = health_patients.ckd_projects(db, member_ids.tolist())
    rows = [{"member_id": int(m), "coordinator_user_id": coordinators[k % len(coordinators)],
             "assigned_by": 0, "project_id": projects.get(int(m))}
            for k, m in enumerate(member_ids.tolist()) if int(m) not in taken]
    for start in range(0, len(rows), columns.CHUNK):
        db.execute(insert(CoordinatorAssignment), rows[start:start + columns.CHUNK])
    return len(rows)



# ---------------------------------------------------------------- the care team's work

ARRIVAL_HOURS = (2, 48)  # a result reaches the platform this long after the sample
# Mean days each step takes (acknowledge, contact the patient, resolve), by severity rank
# 1 (low) .. 4 (critical): the more severe, the sooner.
STEP_DAYS = {1: (4.0, 5.0, 10.0), 2: (2.0, 3.0, 7.0), 3: (1.0, 1.5, 5.0), 4: (0.3, 0.5, 2.0)}
STEP_NOTES = {"acknowledged": "已查看结果，安排联系患者。",
              "contacted": "已电话联系患者，说明结果和下一步。"}
RESOLUTIONS = {
    "egfr_drop_20": "复查肌酐后结果稳定，继续按计划随访。",
    "kdigo_progression": "已转介肾内科，治疗方案已调整。",
    "rapid_progression": "已转介肾内科评估进展原因。",
    "acr_doubled": "已复查尿白蛋白/肌酐比值，与医生讨论了 ACEI/ARB。",
    "potassium_high": "已复查血钾，医生调整了饮食和用药。",
    "potassium_low": "已复查血钾，医生调整了用药。",
    "hemoglobin_low": "医生已评估贫血并安排治疗。",
    "hemoglobin_high": "医生已评估，继续观察。",
    "systolic_above_target": "已提供血压管理建议，患者开始家庭血压监测。",
    "kfre_2y_10": "已纳入多学科照护。",
    "kfre_2y_40": "已与肾内科讨论肾脏替代治疗准备。",
    "kfre_5y_referral": "已安排肾内科转诊。",
    "test_overdue": "患者已预约复查。",
}


def _stamp_arrival(db: Session, rng) -> None:
    """An imported alert was raised when its result arrived, not when the demo was built."""
    rows = db.execute(select(Alert.id, Alert.effective_at).order_by(Alert.id)).all()
    if not rows:
        return
    hours = rng.uniform(*ARRIVAL_HOURS, len(rows))
    db.execute(update(Alert), [
        {"id": i, "created_at": at + timedelta(hours=float(h)),
         "updated_at": at + timedelta(hours=float(h))}
        for (i, at), h in zip(rows, hours, strict=True)])


def _work_the_queue(db: Session, rng, *, today: date) -> dict[str, int]:
    """Each open alert's coordinator acknowledges it, contacts the patient and resolves it,
    each step a random while after the last (STEP_DAYS); steps that would fall after today
    have not happened yet. Notes, statuses and audit events as the care pages write them."""
    rows = db.execute(select(Alert.id, Alert.member_id, Alert.rule, Alert.severity_rank,
                             Alert.created_at, Alert.project_id)
                      .where(Alert.status == "open").order_by(Alert.id)).all()
    team = dict(db.execute(select(CoordinatorAssignment.member_id, User.id)
                           .join(User, User.id == CoordinatorAssignment.coordinator_user_id))
                .all())
    names = dict(db.execute(select(User.id, User.username)).all())
    end = datetime.combine(today, datetime.max.time(), SHANGHAI)
    done: dict[str, int] = {}
    notes, statuses, events = [], [], {}
    for (alert_id, member, rule, rank, created, project), waits in zip(
            rows, rng.exponential(1.0, (len(rows), 3)), strict=True):
        coordinator = team.get(member)
        if coordinator is None:
            continue
        at, status, last = created, "open", created
        for new, mean, wait in zip(("acknowledged", "contacted", "resolved"), STEP_DAYS[rank],
                                   waits, strict=True):
            at = at + timedelta(days=float(mean * wait))
            if at > end:
                break
            status, last = new, at
            notes.append({"alert_id": alert_id, "at": at, "user_id": coordinator,
                          "username": names[coordinator], "status": new,
                          "note": RESOLUTIONS.get(rule, "已处理。") if new == "resolved"
                          else STEP_NOTES[new]})
            events.setdefault((coordinator, new), []).append(
                (alert_id, project, {"status": new, "demo": True}))
        if status != "open":
            statuses.append({"id": alert_id, "status": status, "updated_at": last})
            done[status] = done.get(status, 0) + 1
    for start in range(0, len(notes), columns.CHUNK):
        db.execute(insert(AlertNote), notes[start:start + columns.CHUNK])
    if statuses:
        db.execute(update(Alert), statuses)
    verbs = {"acknowledged": "acknowledge", "contacted": "contact", "resolved": "resolve"}
    for (coordinator, new), batch in events.items():
        audit.record_many(db, actor=Principal(user_id=coordinator, username=names[coordinator],
                                              role=Role.CARE),
                          action=f"health.alert.{verbs[new]}", entity="alert", rows=batch)
    return done


# ---------------------------------------------------------------- who shows it

def patient_to_show(db: Session, *, on: date, among=None, exclude=()) -> dict | None:
    """A kidney patient with cover on ``on`` and an alert in the queue, with the most
    results: ``{"member_id", "project", "results", "stage", "alerts"}``, or None."""
    covered = (select(Policy.member_id, func.max(Project.code).label("project"))
               .join(Product, Product.id == Policy.product_id)
               .join(Project, Project.id == Policy.project_id)
               .where(Product.line == "ckd", Policy.status == "in_force",
                      Policy.cover_start <= on, Policy.cover_end >= on,
                      Policy.member_id.not_in(list(exclude)))
               .group_by(Policy.member_id).subquery())
    results = (select(KidneyResult.member_id, func.count().label("n"))
               .group_by(KidneyResult.member_id).subquery())
    alerts = (select(Alert.member_id, func.count().label("n"))
              .where(Alert.status.in_(OPEN_STATUSES)).group_by(Alert.member_id).subquery())
    q = (select(covered.c.member_id, covered.c.project, results.c.n, alerts.c.n)
         .join(results, results.c.member_id == covered.c.member_id)
         .join(alerts, alerts.c.member_id == covered.c.member_id)
         .order_by(results.c.n.desc(), alerts.c.n.desc(), covered.c.member_id).limit(1))
    if among is not None:
        q = q.where(covered.c.member_id.in_(among))
    row = db.execute(q).first()
    if row is None:
        return None
    latest = patient_view.latest_result(db, row[0])
    stage = latest.g_category + (f"/{latest.a_category}" if latest.a_category else "")
    return {"member_id": row[0], "project": row[1], "results": row[2], "stage": stage,
            "alerts": row[3]}
