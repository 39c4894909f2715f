"""The actuarial tools through the API (actuaries and finance only)."""

from __future__ import annotations

from mutua.auth.roles import Role
from tests import factories as f
from tests.unit.actuarial.test_reserving import RAA, RAA_YEARS


def test_actuarial_tools_over_http(client, db):
    actuary = f.staff_headers(client, db, Role.ACTUARY)
    r = client.post("/api/v1/actuarial/earned", headers=actuary,
                    json={"premium": "1200", "start": "2025-02-15", "end": "2026-02-14"})
    assert r.status_code == 200
    assert r.json()["quarters"][0] == {"quarter": "2025Q1", "earned": "147.95",
                                       "unearned_at_end": "1052.05"}
    cells = [{"origin": RAA_YEARS[i], "development": str(k), "value": v}
             for i, row in enumerate(RAA) for k, v in enumerate(row)]
    r = client.post("/api/v1/actuarial/ibnr", headers=actuary, json={"cells": cells})
    assert r.json()["total"]["ibnr"] == "52135.23"
    r = client.post("/api/v1/actuarial/ibnr", headers=actuary,
                    json={"cells": cells, "method": "bf", "loss_ratio": "-0.5",
                          "premiums": {y: 1 for y in RAA_YEARS}})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "loss_ratio"
    r = client.post("/api/v1/actuarial/earned", headers=actuary,
                    json={"premium": "100", "start": "2025-02-15", "end": "2025-01-14"})
    assert r.status_code == 422
    obs = [{"group": f"cell{g}", "period": str(p), "ratio": 1.0 + 0.1 * g + 0.05 * (p % 2),
            "weight": 10 + p} for g in range(3) for p in range(4)]
    r = client.post("/api/v1/actuarial/credibility", headers=actuary, json={"observations": obs})
    assert r.status_code == 200, r.text
    assert len(r.json()["groups"]) == 3
    claims = f.staff_headers(client, db, Role.CLAIMS)
    assert client.post("/api/v1/actuarial/earned", headers=claims, json={
        "premium": "1", "start": "2025-01-01", "end": "2025-12-31"}).status_code == 403
