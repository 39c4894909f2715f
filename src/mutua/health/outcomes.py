"""Outcomes measured honestly: did a patient's decline slow after enrolment? (病情延缓)

The method, written out on every report (``METHOD``):

- Cohort: every member with an in-force or past policy in the project's CKD products; the
  enrolment date is their first CKD policy's start of cover.
- Enough data: at least two eGFR readings on different days in the two years before
  enrolment, and at least three after enrolment spanning at least a year. Everyone else
  is counted as excluded, with the reason.
- Slopes: ordinary least squares of eGFR on time, in mL/min/1.73m2 per year, separately
  before and after enrolment.
- Slowed: the slope after is at least 1 mL/min/1.73m2 per year less steep than before
  (after - before >= 1). The share slowed carries a 95% Wilson score interval.
- Progressed: the last eGFR is in a worse KDIGO GFR category than the last one before
  enrolment, with a fall of 25% or more (the KDIGO 2012 definition of progression).

- Expected by chance: with a few noisy readings a slope moves by chance, so the report also
  gives the share that would "slow" if nobody's true slope changed: for each included
  patient, P(after - before >= 1 | no change) = 1 - Phi(1 / se), with se from the pooled
  residual variance of all fits and the patient's own reading times.

It is an observational before/after comparison with no control group: regression to the
mean and measurement noise move slopes too, so the share is a description, not an effect;
read it against the share expected by chance.

>>> lo, hi = wilson_interval(30, 100)
>>> round(lo, 4), round(hi, 4)
(0.2189, 0.3958)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mutua.health.clinical import DAYS_PER_YEAR, g_index, group_slopes

PRE_WINDOW_DAYS = 730
MIN_PRE_READINGS = 2
MIN_POST_READINGS = 3
MIN_POST_SPAN_DAYS = 365
SLOWED_BY = 1.0
Z95 = 1.959963984540054

METHOD = (
    "Patients with at least two eGFR readings on different days in the two years before "
    "enrolment and at least three readings spanning at least one year after enrolment are "
    "included; the rest are counted as excluded. For each included patient the eGFR slope "
    "(ordinary least squares, mL/min/1.73m2 per year) is computed before and after "
    "enrolment. A patient's decline slowed if the slope after minus the slope before is at "
    "least 1 mL/min/1.73m2 per year. The share slowed is given with a 95% Wilson score "
    "interval. A patient progressed if their last eGFR is in a worse KDIGO GFR category than "
    "their last eGFR before enrolment with a fall of at least 25%. Because slopes from a few "
    "noisy readings move by chance, the report also gives the share expected to slow by "
    "chance alone if no true slope changed (from the pooled residual variance of the fits "
    "and each patient's reading times). This is an observational before/after comparison "
    "without a control group; regression to the mean and measurement noise also change "
    "slopes, so compare the share slowed with the share expected by chance."
)


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval for a proportion (Wilson 1927); (0, 0) when n is 0."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class CohortResult:
    patients: int
    included: int
    excluded_too_few_before: int
    excluded_too_few_after: int
    slope_before: np.ndarray  # per included patient
    slope_after: np.ndarray
    slowed: int
    progressed: int
    expected_by_chance: float | None = None  # share that would slow with no true change

    @property
    def excluded(self) -> int:
        return self.patients - self.included


def cohort(patient: np.ndarray, day: np.ndarray, egfr: np.ndarray, n_patients: int) -> CohortResult:
    """Evaluate a cohort from readings: ``patient`` ids 0..n-1, ``day`` relative to each
    patient's enrolment (negative before), eGFR values. No Python loop over patients."""
    patient = np.asarray(patient, dtype=np.int64)
    day = np.asarray(day, dtype=np.float64)
    egfr = np.asarray(egfr, dtype=np.float64)
    pre = (day < 0) & (day >= -PRE_WINDOW_DAYS)
    post = day >= 0
    s_pre, n_pre, span_pre = group_slopes(patient[pre], day[pre], egfr[pre], n_patients)
    s_post, n_post, span_post = group_slopes(patient[post], day[post], egfr[post], n_patients)
    ok_pre = (n_pre >= MIN_PRE_READINGS) & (span_pre > 0)
    ok_post = (n_post >= MIN_POST_READINGS) & (span_post >= MIN_POST_SPAN_DAYS)
    included = ok_pre & ok_post
    slowed = included & (s_post - s_pre >= SLOWED_BY)
    progressed = included & _progressed(patient, day, egfr, n_patients)
    chance = _expected_by_chance(patient, day, egfr, pre, post, included, n_patients)
    return CohortResult(
        patients=n_patients,
        included=int(included.sum()),
        excluded_too_few_before=int((~ok_pre).sum()),
        excluded_too_few_after=int((ok_pre & ~ok_post).sum()),
        slope_before=s_pre[included],
        slope_after=s_post[included],
        slowed=int(slowed.sum()),
        progressed=int(progressed.sum()),
        expected_by_chance=chance,
    )


def _fit_sums(g, x, y, n):
    """Per group: Sxx and the residual sum of squares of the least-squares line."""
    cnt = np.bincount(g, minlength=n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = np.bincount(g, x, n) / cnt
        ym = np.bincount(g, y, n) / cnt
        dx, dy = x - xm[g], y - ym[g]
        sxx = np.bincount(g, dx * dx, n)
        sxy = np.bincount(g, dx * dy, n)
        syy = np.bincount(g, dy * dy, n)
        ssr = np.where(sxx > 0, syy - sxy * sxy / sxx, 0.0)
    return cnt, sxx, np.maximum(ssr, 0.0)


def _expected_by_chance(patient, day, egfr, pre, post, included, n) -> float | None:
    if not included.any():
        return None
    x = day / DAYS_PER_YEAR
    n_pre, sxx_pre, ssr_pre = _fit_sums(patient[pre], x[pre], egfr[pre], n)
    n_post, sxx_post, ssr_post = _fit_sums(patient[post], x[post], egfr[post], n)
    dof = (np.maximum(n_pre - 2, 0) + np.maximum(n_post - 2, 0))[included].sum()
    if dof <= 0:
        return None
    s2 = (ssr_pre + ssr_post)[included].sum() / dof  # pooled residual variance
    se = np.sqrt(s2 * (1 / sxx_pre[included] + 1 / sxx_post[included]))
    z = SLOWED_BY / np.maximum(se, 1e-9)
    phi = 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))
    return float(np.mean(1 - phi))


def _last_by_patient(patient, day, value, mask, n) -> np.ndarray:
    """The value of each patient's latest reading within ``mask`` (NaN when none)."""
    out = np.full(n, np.nan)
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return out
    order = idx[np.lexsort((day[idx], patient[idx]))]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = patient[order][1:] != patient[order][:-1]
    out[patient[order][last]] = value[order][last]
    return out


def _progressed(patient, day, egfr, n) -> np.ndarray:
    before = _last_by_patient(patient, day, egfr, day < 0, n)
    latest = _last_by_patient(patient, day, egfr, day >= 0, n)
    known = ~np.isnan(before) & ~np.isnan(latest)
    b = np.where(known, before, 100.0)
    a = np.where(known, latest, 100.0)
    return known & (g_index(a) > g_index(b)) & (a <= 0.75 * b)


def report(result: CohortResult) -> dict:
    """The cohort as the JSON the report prints (without project and date)."""
    lo, hi = wilson_interval(result.slowed, result.included)
    n = result.included

    def stats(x: np.ndarray) -> dict:
        if len(x) == 0:
            return {"mean": None, "median": None}
        return {"mean": round(float(np.mean(x)), 2), "median": round(float(np.median(x)), 2)}

    return {
        "patients": result.patients,
        "included": n,
        "excluded": {
            "total": result.excluded,
            "too_few_readings_before": result.excluded_too_few_before,
            "too_few_readings_after": result.excluded_too_few_after,
        },
        "slope_before": stats(result.slope_before),
        "slope_after": stats(result.slope_after),
        "slowed": {
            "count": result.slowed,
            "share": round(result.slowed / n, 4) if n else None,
            "ci95": [round(lo, 4), round(hi, 4)] if n else None,
            "threshold": SLOWED_BY,
        },
        "progressed": {
            "count": result.progressed,
            "share": round(result.progressed / n, 4) if n else None,
        },
        "slowed_expected_by_chance": (round(result.expected_by_chance, 4)
                                      if result.expected_by_chance is not None else None),
        "method": METHOD,
    }
