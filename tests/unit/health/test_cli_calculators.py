"""`mutua health egfr|stage|kfre --json` print exactly the documented JSON."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mutua.cli import app
from mutua.errors import ValidationFailed

runner = CliRunner()


def run(*args: str) -> dict:
    result = runner.invoke(app, ["health", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_egfr_json():
    # female 50, Scr 1.0 mg/dL -> 68.6 (R package egfr tests; DOMAIN.md section 5)
    out = run("egfr", "--creatinine", "1.0", "--unit", "mg/dL", "--age", "50", "--sex", "F")
    assert out == {"egfr": 68.6, "equation": "CKD-EPI 2021 creatinine", "g_category": "G2"}


def test_egfr_cystatin_json():
    out = run("egfr", "--creatinine", "2", "--age", "23", "--sex", "M", "--cystatin-c", "1")
    assert out == {"egfr": 67.2, "equation": "CKD-EPI 2021 creatinine-cystatin C",
                   "g_category": "G2"}


def test_stage_json():
    assert run("stage", "--egfr", "50", "--acr", "35", "--acr-unit", "mg/mmol") == {
        "g_category": "G3a", "a_category": "A3", "risk": "very high"}
    assert run("stage", "--egfr", "95") == {"g_category": "G1", "a_category": None,
                                            "risk": None}


# The command: 3.0 mg/mmol is A2 (KDIGO 2012 Table 5, KDIGO 2024 Figure 2: A1 is
# below 3 mg/mmol), so G2 with it is moderately increased risk, not low.
@pytest.mark.parametrize(("acr", "unit", "a", "risk"), [
    ("2.99", "mg/mmol", "A1", "low"), ("3.0", "mg/mmol", "A2", "moderately increased"),
    ("29.99", "mg/mmol", "A2", "moderately increased"), ("30", "mg/mmol", "A3", "high"),
    ("29.99", "mg/g", "A1", "low"), ("30", "mg/g", "A2", "moderately increased"),
    ("299.99", "mg/g", "A2", "moderately increased"), ("300", "mg/g", "A3", "high"),
])
def test_stage_reads_the_ratio_in_the_unit_given(acr, unit, a, risk):
    assert run("stage", "--egfr", "60", "--acr", acr, "--acr-unit", unit) == {
        "g_category": "G2", "a_category": a, "risk": risk}


def test_kfre_json():
    # kidneyfailurerisk.com example: female 63, eGFR 45, ACR 30 -> 0.4% / 1.3% (shown truncated)
    out = run("kfre", "--age", "63", "--sex", "F", "--egfr", "45", "--acr", "30")
    assert set(out) == {"risk_2y", "risk_5y"}
    assert 0.004 <= out["risk_2y"] < 0.005 and 0.013 <= out["risk_5y"] < 0.014


def test_bad_values_are_domain_errors():
    for args in (["egfr", "--creatinine", "0", "--age", "50", "--sex", "F"],
                 ["egfr", "--creatinine", "50", "--age", "50", "--sex", "F"],
                 ["egfr", "--creatinine", "1", "--unit", "mmol", "--age", "50", "--sex", "F"],
                 ["egfr", "--creatinine", "1", "--age", "15", "--sex", "F"],
                 ["kfre", "--age", "63", "--sex", "F", "--egfr", "60", "--acr", "30"],
                 ["kfre", "--age", "63", "--sex", "F", "--egfr", "45", "--acr", "0"]):
        result = runner.invoke(app, ["health", *args, "--json"])
        assert isinstance(result.exception, ValidationFailed), args
