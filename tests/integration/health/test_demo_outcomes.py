"""The kidney demo and the outcomes report, through the services and the CLI."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, time, timedelta

import numpy as np
from sqlalchemy import func, select
from typer.testing import CliRunner

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.catalog.models import Project
from mutua.dates import SHANGHAI
from mutua.health import coordination as health_coordination
from mutua.health import demo
from mutua.health.models import OPEN_STATUSES, Alert, AlertNote
from mutua.health.outcomes import METHOD
from tests import factories

TODAY = date(2026, 11, 25)


def test_demo_patients_enrolled_with_alerts_and_outcomes(engine, db):
    care = factories.staff(db, Role.CARE)
    out = demo.build(db, rng=np.random.default_rng(3), today=TODAY, actor=SYSTEM, patients=120)
    db.commit()
    assert out["patients"] == 120 and out["enrolled"] >= 110
    assert len(out["by_product"]) >= 8
    assert out["alerts_open"] > 0 and out["assigned_to_coordinators"] == 120
    coordinator = Principal(user_id=care.id, username=care.username, role=Role.CARE)
    items, total = health_coordination.alert_queue(db, actor=coordinator, limit=20)
    assert total == out["alerts_open"] and items
    ranks = [("low", "medium", "high", "critical").index(a["severity"]) for a in items]
    assert ranks == sorted(ranks, reverse=True)
    db.commit()  # the queue read was audited

    os.environ["MUTUA_DATABASE_URL"] = engine.test_url
    from mutua.cli import app
    from mutua.settings import get_settings

    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, ["health", "outcomes", "--project", "KIDNEY",
                                     "--on", TODAY.isoformat(), "--json"])
    finally:
        os.environ.pop("MUTUA_DATABASE_URL", None)
        get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["project"] == "KIDNEY" and report["method"] == METHOD
    assert report["included"] + report["excluded"]["total"] == report["patients"]
    lo, hi = report["slowed"]["ci95"]
    assert lo <= report["slowed"]["share"] <= hi
    assert report["slope_before"]["mean"] < 0


def test_creatinine_for_inverts_ckd_epi():
    from mutua.health.clinical import egfr_cr_array

    egfr = np.array([8.0, 25, 44, 59, 75, 110])
    age = np.array([70, 60, 55, 40, 30, 25])
    female = np.array([True, False, True, False, True, False])
    assert np.allclose(egfr_cr_array(demo.creatinine_for(egfr, age, female), age, female), egfr)


def test_demo_patients_still_testing_renew_so_the_project_has_cover_today(db):
    from mutua.dates import today as shanghai_today
    from mutua.policies import service as policies_service

    on = shanghai_today()
    out = demo.build(db, rng=np.random.default_rng(4), today=on, actor=SYSTEM, patients=120)
    db.commit()
    kidney = db.scalar(select(Project.id).where(Project.code == "KIDNEY"))
    policies, members = policies_service.in_force_counts(db, on=on)[kidney]
    # Every first year of cover has ended by now; those who kept testing renewed.
    assert out["renewed"] == policies == members >= 0.8 * out["enrolled"]


def test_the_demo_care_team_has_worked_most_of_the_queue(db):
    care = factories.staff(db, Role.CARE)
    out = demo.build(db, rng=np.random.default_rng(5), today=TODAY, actor=SYSTEM, patients=120)
    db.commit()
    statuses = dict(db.execute(select(Alert.status, func.count()).group_by(Alert.status)).all())
    assert statuses["resolved"] > 0.8 * sum(statuses.values())
    assert 0 < out["alerts_open"] == sum(statuses.get(s, 0) for s in OPEN_STATUSES)
    # Each step is a note by the patient's coordinator, in order, after the result arrived
    # and not after the day the demo is built for.
    end = datetime.combine(TODAY, time.max, SHANGHAI)
    alerts = {a.id: a for a in db.scalars(select(Alert))}
    steps: dict[int, list] = {}
    for n in db.scalars(select(AlertNote).order_by(AlertNote.id)):
        steps.setdefault(n.alert_id, []).append(n)
    assert steps
    for alert_id, notes in steps.items():
        a = alerts[alert_id]
        assert [n.status for n in notes] == ["acknowledged", "contacted", "resolved"][
            :len(notes)] and notes[-1].status == a.status
        times = [a.created_at] + [n.at for n in notes]
        assert times == sorted(times) and times[-1] <= end and a.updated_at == times[-1]
        assert {n.user_id for n in notes} == {care.id} and all(n.note for n in notes)
    assert a.created_at < end - timedelta(days=1)  # stamped when the result arrived


def test_the_dashboard_counts_every_alert_in_the_queue(db):
    out = demo.build(db, rng=np.random.default_rng(6), today=TODAY, actor=SYSTEM, patients=120)
    db.commit()
    admin = Principal(user_id=0, username="admin", role=Role.ADMIN)
    _, queue = health_coordination.alert_queue(db, actor=admin, limit=1)
    counts = health_coordination.open_alert_counts(db)
    kidney = db.scalar(select(Project.id).where(Project.code == "KIDNEY"))
    # Results sent before a patient enrolled raised alerts with no project: they count in
    # the project the patient joined, and the rest (never enrolled) apart.
    assert set(counts) <= {kidney, None} and sum(counts.values()) == queue == out["alerts_open"]
    assert counts[kidney] > counts.get(None, 0)
    _, in_project = health_coordination.alert_queue(db, actor=admin, project_id=kidney, limit=1)
    assert in_project == counts[kidney]
