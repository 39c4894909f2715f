"""Clinical calculations for chronic kidney disease (慢性肾脏病), pure and vectorised.

- eGFR by the race-free CKD-EPI 2021 equations (Inker et al., NEJM 2021;385:1737-49):
  creatinine alone, and creatinine with cystatin C.
- KDIGO GFR (G1-G5) and albuminuria (A1-A3) categories and the heat-map risk.
- The 4-variable Kidney Failure Risk Equation (Tangri et al., JAMA 2011;305:1553 and the
  recalibration in JAMA 2016;315:164), 2 and 5 years, North American and not.
- The eGFR slope by least squares, in mL/min/1.73m2 per year.

Every function takes numpy arrays (the bulk ingest computes a million rows at once); the
scalar forms below wrap them and refuse bad input with the field and the rule.

>>> round(egfr_creatinine(1.0, age=50, sex="F"), 1)
68.6
>>> g_category(68.6), a_category(45.0), heat_map_risk("G3a", "A2")
('G2', 'A2', 'high')
>>> a_category(3.0, "mg/mmol"), a_category(26.52, "mg/g")  # the same urine, two labs
('A2', 'A1')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mutua.errors import ValidationFailed
from mutua.health.kinds import KINDS, normalise_unit, to_canonical

ADULT_AGE = 18  # CKD-EPI and KFRE were developed in adults

# ---------------------------------------------------------------- eGFR (CKD-EPI 2021)


def egfr_cr_array(scr_mg_dl: np.ndarray, age: np.ndarray, female: np.ndarray) -> np.ndarray:
    """CKD-EPI 2021 creatinine equation over columns (Scr in mg/dL, age in years).

    eGFR = 142 x min(Scr/k,1)^a x max(Scr/k,1)^-1.200 x 0.9938^age x 1.012 [female],
    k = 0.7 F / 0.9 M, a = -0.241 F / -0.302 M.
    """
    scr = np.asarray(scr_mg_dl, dtype=np.float64)
    f = np.asarray(female, dtype=bool)
    k = np.where(f, 0.7, 0.9)
    a = np.where(f, -0.241, -0.302)
    r = scr / k
    return (
        142.0
        * np.minimum(r, 1.0) ** a
        * np.maximum(r, 1.0) ** -1.200
        * 0.9938 ** np.asarray(age, dtype=np.float64)
        * np.where(f, 1.012, 1.0)
    )


def egfr_cr_cys_array(scr_mg_dl, scys_mg_l, age, female) -> np.ndarray:
    """CKD-EPI 2021 creatinine-cystatin C equation over columns.

    135 x min(Scr/k,1)^a x max(Scr/k,1)^-0.544 x min(Scys/0.8,1)^-0.323
    x max(Scys/0.8,1)^-0.778 x 0.9961^age x 0.963 [female]; a = -0.219 F / -0.144 M.
    """
    scr = np.asarray(scr_mg_dl, dtype=np.float64)
    cys = np.asarray(scys_mg_l, dtype=np.float64) / 0.8
    f = np.asarray(female, dtype=bool)
    r = scr / np.where(f, 0.7, 0.9)
    return (
        135.0
        * np.minimum(r, 1.0) ** np.where(f, -0.219, -0.144)
        * np.maximum(r, 1.0) ** -0.544
        * np.minimum(cys, 1.0) ** -0.323
        * np.maximum(cys, 1.0) ** -0.778
        * 0.9961 ** np.asarray(age, dtype=np.float64)
        * np.where(f, 0.963, 1.0)
    )


def parse_sex(sex: str, *, field: str = "sex") -> bool:
    """True for female. Accepts F/M (any case) and female/male."""
    s = str(sex).strip().upper()
    if s in ("F", "FEMALE"):
        return True
    if s in ("M", "MALE"):
        return False
    raise ValidationFailed(field, "must be F or M, got %(got)s", got=f"{sex!r}")


def check_adult(age: float, *, field: str = "age") -> float:
    try:
        a = float(age)
    except (TypeError, ValueError):
        raise ValidationFailed(field, "must be a number of years, got %(got)s", got=f"{age!r}") from None
    if not np.isfinite(a) or a > 120:
        raise ValidationFailed(field, "must be a real age in years (at most 120)")
    if a < ADULT_AGE:
        raise ValidationFailed(
            field, "must be %(age)s or over: the adult equations do not apply", age=ADULT_AGE
        )
    return a


def egfr_creatinine(creatinine: float, *, age: float, sex: str, unit: str = "mg/dL",
                    cystatin_c: float | None = None) -> float:
    """eGFR for one person; refuses impossible creatinine, unknown units and minors."""
    scr = to_canonical("creatinine", creatinine, unit, field="creatinine")
    a = check_adult(age)
    f = parse_sex(sex)
    if cystatin_c is None:
        return float(egfr_cr_array(np.array([scr]), np.array([a]), np.array([f]))[0])
    cys = to_canonical("cystatin_c", cystatin_c, "mg/L", field="cystatin_c")
    return float(egfr_cr_cys_array(np.array([scr]), np.array([cys]), np.array([a]),
                                   np.array([f]))[0])


EQUATION_CR = "CKD-EPI 2021 creatinine"
EQUATION_CR_CYS = "CKD-EPI 2021 creatinine-cystatin C"

# ---------------------------------------------------------------- KDIGO categories

G_CATEGORIES = ("G1", "G2", "G3a", "G3b", "G4", "G5")
A_CATEGORIES = ("A1", "A2", "A3")
_G_LOWER = np.array([90.0, 60.0, 45.0, 30.0, 15.0])  # lower bounds of G1..G4
# KDIGO 2012 (Table 5) and 2024 (Figure 2) set the albuminuria limits in each unit: A1 below
# 30 mg/g or 3 mg/mmol, A3 from 300 mg/g or 30 mg/mmol. The factor 8.84 does not carry one
# pair onto the other (3 mg/mmol is 26.52 mg/g), so a ratio is staged in the unit its lab
# reported it in, never after converting.
ACR_LIMITS = {"mg/g": (30.0, 300.0), "mg/mmol": (3.0, 30.0)}
_A_UPPER_MG_G = np.array(ACR_LIMITS["mg/g"])
_A_UPPER_MG_MMOL = np.array(ACR_LIMITS["mg/mmol"])

RISKS = ("low", "moderately increased", "high", "very high")
# KDIGO heat map: rows G1..G5, columns A1..A3 -> index into RISKS.
_HEAT = np.array([
    [0, 1, 2],  # G1
    [0, 1, 2],  # G2
    [1, 2, 3],  # G3a
    [2, 3, 3],  # G3b
    [3, 3, 3],  # G4
    [3, 3, 3],  # G5
])


def g_index(egfr: np.ndarray) -> np.ndarray:
    """0 for G1 ... 5 for G5 (a higher index is worse kidney function)."""
    e = np.asarray(egfr, dtype=np.float64)
    return (e[..., None] < _G_LOWER).sum(axis=-1)


def a_index(acr: np.ndarray, in_mg_mmol: np.ndarray | bool = False) -> np.ndarray:
    """0 for A1 ... 2 for A3, each ratio against KDIGO's limits in the unit it came in.

    ``in_mg_mmol`` says, per value (or for all), that it is in mg/mmol rather than mg/g.

    >>> a_index(np.array([29.99, 30.0, 2.99, 3.0, 29.99, 30.0]),
    ...         np.array([False, False, True, True, True, True])).tolist()
    [0, 1, 0, 1, 1, 2]
    """
    a = np.asarray(acr, dtype=np.float64)
    mmol = np.broadcast_to(np.asarray(in_mg_mmol, dtype=bool), a.shape)
    upper = np.where(mmol[..., None], _A_UPPER_MG_MMOL, _A_UPPER_MG_G)
    return (a[..., None] >= upper).sum(axis=-1)


def acr_in_mg_mmol(unit: str | None, *, field: str = "acr_unit") -> bool:
    """True for a ratio in mg/mmol, False in mg/g (the default); refuses any other unit."""
    spelled = "mg/g" if unit is None else normalise_unit(unit)
    if spelled not in ACR_LIMITS:
        raise ValidationFailed(field, "unknown unit %(unit)s for %(kind)s",
                                      unit=f"{unit!r}", kind=f"acr; use one of {', '.join(ACR_LIMITS)}")
    return spelled == "mg/mmol"


def g_category(egfr: float) -> str:
    return G_CATEGORIES[int(g_index(np.array([egfr]))[0])]


def a_category(acr: float, unit: str | None = "mg/g") -> str:
    return A_CATEGORIES[int(a_index(np.array([acr]), acr_in_mg_mmol(unit))[0])]


def heat_map_risk(g: str, a: str) -> str:
    return RISKS[_HEAT[G_CATEGORIES.index(g), A_CATEGORIES.index(a)]]


def risk_index(gi: np.ndarray, ai: np.ndarray) -> np.ndarray:
    return _HEAT[np.asarray(gi), np.asarray(ai)]


@dataclass(frozen=True)
class Stage:
    g_category: str
    a_category: str | None
    risk: str | None  # None when albuminuria is unknown: the heat map needs both


def stage(egfr: float, acr: float | None = None, *, acr_unit: str = "mg/g") -> Stage:
    """KDIGO stage of one result; refuses impossible eGFR or ACR and unknown units."""
    e = to_canonical("egfr", egfr, "mL/min/1.73m2", field="egfr")
    g = g_category(e)
    if acr is None:
        return Stage(g, None, None)
    # The canonical value only checks that the ratio is possible; the category is read
    # in the unit given (see ACR_LIMITS).
    to_canonical("acr", acr, acr_unit, field="acr", unit_field="acr_unit")
    a = a_category(float(acr), acr_unit)
    return Stage(g, a, heat_map_risk(g, a))


# ---------------------------------------------------------------- KFRE (Tangri)

# Baseline survival S0 at 2 and 5 years (JAMA 2016 recalibration).
KFRE_BASELINE = {
    "north-american": (0.9750, 0.9240),
    "non-north-american": (0.9832, 0.9365),
}


def kfre_array(age, female, egfr, acr_mg_g, *, calibration: str = "north-american"):
    """4-variable KFRE over columns: (risk_2y, risk_5y) as fractions.

    LP = -0.2201(age/10 - 7.036) + 0.2467(male - 0.5642) - 0.5567(eGFR/5 - 7.222)
         + 0.4510(ln ACR[mg/g] - 5.137); risk = 1 - S0^exp(LP).
    Inputs outside the validity (eGFR >= 60, ACR <= 0) give NaN: callers filter them.
    """
    s2, s5 = KFRE_BASELINE[calibration]
    e = np.asarray(egfr, dtype=np.float64)
    acr = np.asarray(acr_mg_g, dtype=np.float64)
    valid = (e < 60) & (acr > 0)
    male = 1.0 - np.asarray(female, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = (
            -0.2201 * (np.asarray(age, dtype=np.float64) / 10 - 7.036)
            + 0.2467 * (male - 0.5642)
            - 0.5567 * (e / 5 - 7.222)
            + 0.4510 * (np.log(np.where(acr > 0, acr, np.nan)) - 5.137)
        )
        hz = np.exp(lp)
    r2 = np.where(valid, 1.0 - s2**hz, np.nan)
    r5 = np.where(valid, 1.0 - s5**hz, np.nan)
    return r2, r5


@dataclass(frozen=True)
class KidneyFailureRisk:
    risk_2y: float
    risk_5y: float
    calibration: str


def kfre(*, age: float, sex: str, egfr: float, acr: float, acr_unit: str = "mg/g",
         calibration: str = "north-american") -> KidneyFailureRisk:
    """KFRE for one person; refuses eGFR >= 60 (outside validity) and ACR <= 0."""
    a = check_adult(age)
    f = parse_sex(sex)
    e = to_canonical("egfr", egfr, "mL/min/1.73m2", field="egfr")
    if e >= 60:
        raise ValidationFailed("egfr", "must be below 60: the KFRE is valid for G3-G5 only")
    try:
        raw_acr = float(acr)
    except (TypeError, ValueError):
        raise ValidationFailed("acr", "must be a number, got %(got)s", got=f"{acr!r}") from None
    if not raw_acr > 0:
        raise ValidationFailed("acr", "must be above 0: the KFRE takes its logarithm")
    acr_mg_g = to_canonical("acr", raw_acr, acr_unit, field="acr", unit_field="acr_unit")
    if calibration not in KFRE_BASELINE:
        raise ValidationFailed(
            "calibration", "must be one of %(choices)s, got %(got)s",
            choices=", ".join(KFRE_BASELINE), got=f"{calibration!r}"
        )
    r2, r5 = kfre_array(np.array([a]), np.array([f]), np.array([e]), np.array([acr_mg_g]),
                        calibration=calibration)
    return KidneyFailureRisk(float(r2[0]), float(r5[0]), calibration)


# ---------------------------------------------------------------- slope

DAYS_PER_YEAR = 365.25


def slope_per_year(days: np.ndarray, egfr: np.ndarray) -> float | None:
    """Least-squares slope of eGFR against time, per year; None with fewer than 2 dates.

    >>> slope_per_year(np.array([0, 365.25, 730.5]), np.array([50.0, 45.0, 40.0]))
    -5.0
    """
    x = np.asarray(days, dtype=np.float64) / DAYS_PER_YEAR
    y = np.asarray(egfr, dtype=np.float64)
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    xm = x - x.mean()
    return float(round((xm * (y - y.mean())).sum() / (xm * xm).sum(), 10))


def group_slopes(group: np.ndarray, days: np.ndarray, egfr: np.ndarray, n_groups: int):
    """Least-squares slope per group (ids 0..n_groups-1) in one pass: (slope, n, span_days).

    Uses centred sums per group so a million readings need no Python loop; a group with
    fewer than two distinct dates gets NaN.
    """
    g = np.asarray(group)
    x = np.asarray(days, dtype=np.float64) / DAYS_PER_YEAR
    y = np.asarray(egfr, dtype=np.float64)
    n = np.bincount(g, minlength=n_groups).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = np.bincount(g, x, n_groups) / n
        ym = np.bincount(g, y, n_groups) / n
        dx = x - xm[g]
        sxx = np.bincount(g, dx * dx, n_groups)
        sxy = np.bincount(g, dx * (y - ym[g]), n_groups)
        slope = np.where(sxx > 1e-12, sxy / sxx, np.nan)
    xmin = np.full(n_groups, np.inf)
    xmax = np.full(n_groups, -np.inf)
    np.minimum.at(xmin, g, x)
    np.maximum.at(xmax, g, x)
    span = np.where(n > 0, (xmax - xmin) * DAYS_PER_YEAR, 0.0)
    return slope, n.astype(np.int64), span


def kind_unit(kind: str) -> str:
    return KINDS[kind].unit
