"""Alert rules, testing schedule, advice and the outcomes cohort, without a database."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutua.health import rules
from mutua.health.advice import PatientState, advise
from mutua.health.clinical import g_index
from mutua.health.outcomes import cohort, report, wilson_interval


def fired(hits: rules.Hits) -> dict[str, list[int]]:
    return {r: sorted(rows.tolist()) for r, rows in zip(hits.rule, hits.row, strict=True)}


def test_egfr_drop_and_progression():
    member = np.array([1, 1, 1, 2, 2])
    egfr = np.array([62.0, 48.0, 44.0, 50.0, 41.0])
    new = np.array([False, True, True, True, True])
    none = np.full(5, np.nan)
    out = fired(rules.egfr_rules(member, egfr, g_index(egfr), new, none, none))
    # 62 -> 48 is a 22.6% fall (> 20%); 62 -> 44 is G2 -> G3b with a 29% fall (>= 25%).
    # Member 2: 50 -> 41 is 18%: no drop alert; G3a -> G3b but only 18% from baseline.
    assert out == {"egfr_drop_20": [1], "kdigo_progression": [2]}


def test_category_drop_without_25_percent_is_not_progression():
    member = np.array([1, 1])
    egfr = np.array([61.0, 58.0])  # G2 -> G3a but a 5% fall
    out = fired(rules.egfr_rules(member, egfr, g_index(egfr), np.array([False, True]),
                                 np.full(2, np.nan), np.full(2, np.nan)))
    assert out == {}


def test_kfre_thresholds_pick_the_highest():
    member = np.arange(4)
    egfr = np.full(4, 25.0)
    r2 = np.array([0.05, 0.12, 0.45, 0.01])
    r5 = np.array([0.2, 0.3, 0.8, 0.03])
    out = fired(rules.egfr_rules(member, egfr, g_index(egfr), np.ones(4, bool), r2, r5))
    assert out == {"kfre_2y_10": [1], "kfre_2y_40": [2], "kfre_5y_referral": [0]}


def test_acr_doubling_and_ranges():
    out = fired(rules.acr_rules(np.array([1, 1, 2]), np.array([40.0, 80.0, 500.0]),
                                np.array([False, True, True])))
    assert out == {"acr_doubled": [1]}
    kind = np.array(["potassium", "potassium", "hemoglobin", "systolic", "systolic"])
    value = np.array([6.1, 4.2, 9.1, 135.0, 118.0])
    out = fired(rules.range_rules(kind, value, np.ones(5, bool)))
    assert out == {"potassium_high": [0], "hemoglobin_low": [2], "systolic_above_target": [3]}
    assert rules.severity_of("potassium_high", 6.1) == "critical"
    assert rules.severity_of("potassium_high", 5.8) == "high"


def test_rapid_progression_needs_sustained_decline():
    slope = np.array([-6.0, -6.0, -4.0])
    n = np.array([3, 2, 5])
    span = np.array([400.0, 400.0, 400.0])
    assert rules.rapid_members(slope, n, span).tolist() == [True, False, False]


# KDIGO 2012 Figure 23: times a year to monitor by heat-map cell.
@pytest.mark.parametrize(("g", "a", "per_year"), [(0, 0, 1), (1, 2, 2), (2, 1, 2), (3, 0, 2),
                                                  (3, 2, 3), (4, 2, 4), (5, 0, 4), (2, -1, 1)])
def test_monitoring_frequency(g, a, per_year):
    assert int(rules.monitoring_per_year(np.array([g]), np.array([a]))[0]) == per_year


def test_overdue():
    # G4/A2 asks for 3 tests a year (every 122 days) plus 30 days' grace.
    last = np.array([0, 0])
    assert rules.overdue(last, np.array([4, 4]), np.array([1, 1]), 153).tolist() == [True, True]
    assert rules.overdue(last, np.array([4, 0]), np.array([1, 0]), 152).tolist() == [False, False]


def test_advice_is_bilingual_and_to_discuss():
    items = advise(PatientState(egfr=25, g_category="G4", a_category="A3", acr=450,
                                systolic=138, hba1c=7.2, risk_5y=0.3, tests_per_year=4))
    codes = [a.code for a in items]
    assert codes == ["blood_pressure", "acei_arb", "sglt2i", "nephrology", "testing"]
    for a in items:
        assert "doctor" in a.en and "医生" in a.zh
    assert advise(PatientState(egfr=95, a_category="A1", acr=10, systolic=115)) == []
    # SGLT2 inhibitor not below eGFR 20
    assert "sglt2i" not in [a.code for a in advise(PatientState(egfr=18, acr=500))]


# KDIGO 2024 recommendation 3.7.1: an SGLT2 inhibitor with eGFR >= 20 and ACR >= 200 mg/g
# (>= 20 mg/mmol); KDIGO 2012 recommendation 5.1.1: refer with ACR >= 300 mg/g (>= 30
# mg/mmol). The limits are set in each unit; 20 mg/mmol is 176.8 mg/g once converted.
@pytest.mark.parametrize(("acr", "unit", "codes"), [
    (199.99, "mg/g", []), (200, "mg/g", ["sglt2i"]), (299.99, "mg/g", ["sglt2i"]),
    (300, "mg/g", ["sglt2i", "nephrology"]),
    (19.99, "mg/mmol", []), (20, "mg/mmol", ["sglt2i"]), (29.99, "mg/mmol", ["sglt2i"]),
    (30, "mg/mmol", ["sglt2i", "nephrology"]),
])
def test_advice_compares_the_ratio_in_its_own_unit(acr, unit, codes):
    got = [a.code for a in advise(PatientState(egfr=50, acr=acr, acr_unit=unit))]
    assert got == codes


def test_wilson_interval_published():
    # Newcombe (1998), Stat Med 17:857, Table I example: 81 of 263 -> 0.2553 to 0.3662.
    lo, hi = wilson_interval(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_contains_the_proportion(k, n):
    k = min(k, n)
    lo, hi = wilson_interval(k, n)
    assert 0 <= lo <= k / n + 1e-12 and k / n - 1e-12 <= hi <= 1


def test_cohort_slowed_excluded_progressed():
    # patient 0: -6/yr before, -2/yr after -> slowed; patient 1: -3 before, -3 after;
    # patient 2: one reading before -> excluded; patient 3: falls 50 -> 28 after -> progressed.
    rows = []
    for d, e in [(-700, 60.0), (-335, 54.0), (0, 50), (200, 49), (400, 48)]:
        rows.append((0, d, e))
    for d, e in [(-700, 50.0), (-335, 47.0), (0, 44), (200, 42.4), (400, 40.7)]:
        rows.append((1, d, e))
    rows += [(2, -100, 40.0), (2, 10, 39), (2, 200, 38), (2, 400, 37)]
    rows += [(3, -400, 52.0), (3, -30, 50), (3, 10, 45), (3, 200, 36), (3, 420, 28)]
    p, d, e = (np.array(c) for c in zip(*rows, strict=True))
    res = cohort(p, d, e, 4)
    assert (res.included, res.excluded, res.excluded_too_few_before) == (3, 1, 1)
    assert res.slowed == 1 and res.progressed == 1
    out = report(res)
    assert out["slowed"]["share"] == round(1 / 3, 4)
    assert out["excluded"]["total"] == 1 and "Wilson" in out["method"]


def test_share_expected_by_chance_matches_noise_alone():
    # 2,000 patients whose true slope never changes (-3 a year), eGFR read with noise of
    # sd 3: the share "slowed" is noise, and the chance estimate should say so.
    rng = np.random.default_rng(42)
    n = 2000
    days = np.array([-700, -450, -200, -20, 90, 180, 270, 370, 460])
    p = np.repeat(np.arange(n), len(days))
    d = np.tile(days, n).astype(float)
    e = 50 - 3 * d / 365.25 + rng.normal(0, 3, len(d))
    res = cohort(p, d, e, n)
    assert res.included == n
    assert abs(res.slowed / n - res.expected_by_chance) < 0.04
    quiet = cohort(p, d, 50 - 3 * d / 365.25, n)  # no noise: nobody slows by chance
    assert quiet.slowed == 0 and quiet.expected_by_chance < 1e-6
