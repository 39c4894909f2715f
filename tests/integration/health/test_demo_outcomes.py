"""The kidney demo and the outcomes report, through the services and the CLI."""

from __future__ import annotations

import json
import os
from datetime import date

import numpy as np
from typer.testing import CliRunner

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.health import demo, service
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
    items, total = service.alert_queue(db, actor=coordinator, limit=20)
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
