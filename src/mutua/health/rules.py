"""Alert rules and the testing schedule, pure and vectorised over many patients at once.

Each rule names its source. Thresholds are module constants so a medical director can
change them in one place.

- ``egfr_drop_20``: eGFR more than 20% below the previous value (KDIGO 2024 practice point
  2.1.3: a change of more than 20% on a later test exceeds expected variability).
- ``kdigo_progression``: a drop in GFR category with a fall of 25% or more from the baseline
  (first) eGFR (KDIGO 2012, 2.1.3).
- ``rapid_progression``: least-squares slope steeper than -5 mL/min/1.73m2 per year, over at
  least three readings spanning half a year ("sustained decline", KDIGO 2012, 2.1.3).
- ``acr_doubled``: ACR at least twice the previous value (KDIGO 2024 practice point 2.1.5).
- ``potassium_high`` / ``potassium_low``, ``hemoglobin_low`` / ``hemoglobin_high``: outside
  the safe range below.
- ``systolic_above_target``: systolic above 120 mmHg (KDIGO 2021 blood pressure guideline:
  target below 120 where tolerated).
- ``kfre_2y_10`` / ``kfre_2y_40``: 2-year kidney-failure risk above 10% (multidisciplinary
  care) / above 40% (prepare kidney replacement therapy) (KDIGO 2024 practice points after
  recommendation 2.2.1; the 40% figure as summarised in ../shared/DOMAIN.md).
- ``kfre_5y_referral``: 5-year risk at or above the referral threshold (KDIGO 2024 practice
  point 2.2.1: 3-5%; we take 5%).
- ``test_overdue``: no eGFR within the interval the patient's heat-map cell asks for.

>>> int(monitoring_per_year(np.array([3]), np.array([2]))[0])
3
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from mutua.health.clinical import risk_index

SEVERITIES = ("low", "medium", "high", "critical")  # rank = index + 1
SEVERITY_RANK = {s: i + 1 for i, s in enumerate(SEVERITIES)}

# How soon a care coordinator acknowledges a new alert, by severity: the care team's service
# standard, set by the mutual (not a clinical value). The most severe are seen within a day
# because they call for same-day action: a potassium at or above 6.0 mmol/L (UK Kidney
# Association, Treatment of Acute Hyperkalaemia in Adults, 2020) or a 2-year kidney-failure
# risk above 40%, the KDIGO 2024 threshold to prepare kidney replacement therapy.
ACKNOWLEDGE_WITHIN = {"critical": timedelta(days=1), "high": timedelta(days=2),
                      "medium": timedelta(days=7), "low": timedelta(days=14)}


def acknowledge_by(severity: str, raised_at: datetime) -> datetime:
    """When an alert raised at ``raised_at`` should have been acknowledged.

    >>> from datetime import UTC
    >>> acknowledge_by("high", datetime(2026, 3, 1, 9, tzinfo=UTC)).isoformat()
    '2026-03-03T09:00:00+00:00'
    """
    return raised_at + ACKNOWLEDGE_WITHIN[severity]


def alert_overdue(status: str, severity: str, raised_at: datetime, now: datetime) -> bool:
    """An alert nobody has acknowledged by its severity's time (see ACKNOWLEDGE_WITHIN).

    >>> from datetime import UTC
    >>> raised = datetime(2026, 3, 1, 9, tzinfo=UTC)
    >>> alert_overdue("open", "critical", raised, raised + timedelta(hours=25))
    True
    >>> alert_overdue("acknowledged", "critical", raised, raised + timedelta(days=9))
    False
    """
    return status == "open" and now > acknowledge_by(severity, raised_at)


EGFR_DROP_FRACTION = 0.20
PROGRESSION_FALL_FRACTION = 0.25
RAPID_SLOPE = -5.0
RAPID_MIN_READINGS = 3
RAPID_MIN_SPAN_DAYS = 180
ACR_DOUBLING = 2.0
POTASSIUM_SAFE = (3.5, 5.5)  # mmol/L
POTASSIUM_CRITICAL = 6.0
HEMOGLOBIN_SAFE = (10.0, 16.5)  # g/dL; KDIGO 2012 anaemia: below 10 consider treatment
SYSTOLIC_TARGET = 120.0  # mmHg
KFRE_2Y_MULTIDISCIPLINARY = 0.10
KFRE_2Y_PREPARE_KRT = 0.40
KFRE_5Y_REFERRAL = 0.05
OVERDUE_GRACE_DAYS = 30

RULES: dict[str, tuple[str, str, str]] = {
    # rule: (severity, English, Chinese)
    "egfr_drop_20": ("high", "eGFR fell more than 20% since the previous test",
                     "eGFR 较上次下降超过 20%"),
    "kdigo_progression": ("high", "CKD progression: GFR category worse with a 25% fall from "
                          "baseline", "慢性肾病进展：GFR 分期加重且较基线下降 25% 以上"),
    "rapid_progression": ("high", "Rapid progression: eGFR falling faster than 5 per year",
                          "快速进展：eGFR 每年下降超过 5"),
    "acr_doubled": ("medium", "Urine albumin-creatinine ratio doubled",
                    "尿白蛋白/肌酐比值翻倍"),
    "potassium_high": ("high", "Potassium above the safe range", "血钾高于安全范围"),
    "potassium_low": ("medium", "Potassium below the safe range", "血钾低于安全范围"),
    "hemoglobin_low": ("medium", "Hemoglobin below the safe range", "血红蛋白低于安全范围"),
    "hemoglobin_high": ("medium", "Hemoglobin above the safe range", "血红蛋白高于安全范围"),
    "systolic_above_target": ("low", "Systolic blood pressure above the 120 mmHg target",
                              "收缩压高于 120 mmHg 目标"),
    "kfre_2y_10": ("high", "2-year kidney-failure risk above 10%: multidisciplinary care",
                   "两年肾衰竭风险超过 10%：需多学科照护"),
    "kfre_2y_40": ("critical", "2-year kidney-failure risk above 40%: prepare kidney "
                   "replacement therapy", "两年肾衰竭风险超过 40%：准备肾脏替代治疗"),
    "kfre_5y_referral": ("medium", "5-year kidney-failure risk at the nephrology referral "
                         "threshold", "五年肾衰竭风险达到肾内科转诊阈值"),
    "test_overdue": ("low", "Kidney test overdue for the patient's risk level",
                     "按风险等级应复查的肾功能检查已逾期"),
}


@dataclass
class Hits:
    """Alerts found in a batch: parallel arrays, one entry per alert."""

    row: list[np.ndarray]  # index into the series the rule ran on
    rule: list[str]
    value: list[np.ndarray]

    @classmethod
    def empty(cls) -> Hits:
        return cls([], [], [])

    def add(self, rule: str, rows: np.ndarray, values: np.ndarray) -> None:
        if len(rows):
            self.row.append(rows)
            self.rule.append(rule)
            self.value.append(values)


def _prev_same(member: np.ndarray) -> np.ndarray:
    """For a series sorted by (member, time): True where the previous row is the same member."""
    same = np.zeros(len(member), dtype=bool)
    same[1:] = member[1:] == member[:-1]
    return same


def _first_of_group(member: np.ndarray) -> np.ndarray:
    """Index of each row's member's first row (series sorted by member)."""
    starts = np.ones(len(member), dtype=bool)
    starts[1:] = member[1:] != member[:-1]
    idx = np.where(starts, np.arange(len(member)), 0)
    return np.maximum.accumulate(idx)


def egfr_rules(member, egfr, g_idx, new, risk_2y, risk_5y) -> Hits:
    """Rules on an eGFR series sorted by (member, time); only new readings raise alerts."""
    hits = Hits.empty()
    egfr = np.asarray(egfr, dtype=np.float64)
    new = np.asarray(new, dtype=bool)
    same = _prev_same(member)
    prev = np.roll(egfr, 1)
    drop = new & same & (egfr < (1 - EGFR_DROP_FRACTION) * prev)
    rows = np.flatnonzero(drop)
    hits.add("egfr_drop_20", rows, egfr[rows])
    base = _first_of_group(member)
    prog = (new & (np.asarray(g_idx) > np.asarray(g_idx)[base])
            & (egfr <= (1 - PROGRESSION_FALL_FRACTION) * egfr[base]))
    rows = np.flatnonzero(prog)
    hits.add("kdigo_progression", rows, egfr[rows])
    r2 = np.nan_to_num(np.asarray(risk_2y, dtype=np.float64), nan=0.0)
    r5 = np.nan_to_num(np.asarray(risk_5y, dtype=np.float64), nan=0.0)
    krt = new & (r2 > KFRE_2Y_PREPARE_KRT)
    mdc = new & ~krt & (r2 > KFRE_2Y_MULTIDISCIPLINARY)
    ref = new & ~krt & ~mdc & (r5 >= KFRE_5Y_REFERRAL)
    for rule, mask, vals in (("kfre_2y_40", krt, r2), ("kfre_2y_10", mdc, r2),
                             ("kfre_5y_referral", ref, r5)):
        rows = np.flatnonzero(mask)
        hits.add(rule, rows, vals[rows])
    return hits


def rapid_members(slope: np.ndarray, n: np.ndarray, span_days: np.ndarray) -> np.ndarray:
    """Mask over members whose sustained decline is steeper than the rapid threshold."""
    s = np.nan_to_num(slope, nan=0.0)
    return (s < RAPID_SLOPE) & (n >= RAPID_MIN_READINGS) & (span_days >= RAPID_MIN_SPAN_DAYS)


def acr_rules(member, acr, new) -> Hits:
    hits = Hits.empty()
    acr = np.asarray(acr, dtype=np.float64)
    prev = np.roll(acr, 1)
    doubled = np.asarray(new, dtype=bool) & _prev_same(member) & (prev > 0) & (
        acr >= ACR_DOUBLING * prev)
    rows = np.flatnonzero(doubled)
    hits.add("acr_doubled", rows, acr[rows])
    return hits


def range_rules(kind: np.ndarray, value: np.ndarray, new: np.ndarray) -> Hits:
    """Safe-range rules on single values (potassium, hemoglobin, systolic)."""
    hits = Hits.empty()
    v = np.asarray(value, dtype=np.float64)
    new = np.asarray(new, dtype=bool)
    checks = [
        ("potassium_high", (kind == "potassium") & (v > POTASSIUM_SAFE[1])),
        ("potassium_low", (kind == "potassium") & (v < POTASSIUM_SAFE[0])),
        ("hemoglobin_low", (kind == "hemoglobin") & (v < HEMOGLOBIN_SAFE[0])),
        ("hemoglobin_high", (kind == "hemoglobin") & (v > HEMOGLOBIN_SAFE[1])),
        ("systolic_above_target", (kind == "systolic") & (v > SYSTOLIC_TARGET)),
    ]
    for rule, mask in checks:
        rows = np.flatnonzero(mask & new)
        hits.add(rule, rows, v[rows])
    return hits


def severity_of(rule: str, value: float | None = None) -> str:
    """The rule's severity; a potassium at or above 6.0 mmol/L is critical."""
    if rule == "potassium_high" and value is not None and value >= POTASSIUM_CRITICAL:
        return "critical"
    return RULES[rule][0]


# ---------------------------------------------------------------- testing schedule

# KDIGO 2012 CKD guideline, Figure 23 (repeated in KDIGO 2024): times per year to test eGFR
# and ACR, by heat-map cell; "4+" taken as 4. Rows G1..G5 (G1 and G2 share a row), A1..A3.
_MONITORING = np.array([
    [1, 1, 2],  # G1
    [1, 1, 2],  # G2
    [1, 2, 3],  # G3a
    [2, 3, 3],  # G3b
    [3, 3, 4],  # G4
    [4, 4, 4],  # G5
])


def monitoring_per_year(g_idx: np.ndarray, a_idx: np.ndarray) -> np.ndarray:
    """Tests a year for each cell; an unknown A category (-1) counts as A1."""
    a = np.where(np.asarray(a_idx) < 0, 0, a_idx)
    return _MONITORING[np.asarray(g_idx), a]


def test_interval_days(g_idx, a_idx) -> np.ndarray:
    """Days between tests the cell asks for (365 / times a year, rounded)."""
    return np.rint(365.0 / monitoring_per_year(g_idx, a_idx)).astype(np.int64)


def overdue(last_test_day: np.ndarray, g_idx, a_idx, today_day: int) -> np.ndarray:
    """Mask of patients whose next test is more than the grace period late."""
    due = np.asarray(last_test_day) + test_interval_days(g_idx, a_idx)
    return due + OVERDUE_GRACE_DAYS < today_day


def heat_risk_index(g_idx, a_idx) -> np.ndarray:
    """Heat-map risk index; -1 where albuminuria is unknown."""
    a = np.asarray(a_idx)
    return np.where(a < 0, -1, risk_index(g_idx, np.where(a < 0, 0, a)))
