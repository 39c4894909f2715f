"""What we measure: kinds of observation, their LOINC codes, units and plausible ranges.

Every value is stored in one canonical unit per kind; the original value and unit are kept
beside it. A value outside the plausible range is refused, never stored: it is a typing or
unit error, not a patient (a creatinine of 50 mg/dL is 4,420 umol/L).

>>> to_canonical("creatinine", 88.4, "umol/L")
1.0
>>> to_canonical("acr", 3.0, "mg/mmol")
26.52
>>> KIND_BY_LOINC["2160-0"]
('creatinine', 'mg/dL')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mutua.errors import ValidationFailed

# 1 mg/dL creatinine = 88.4 umol/L (molar mass 113.12 g/mol); 1 mg/mmol ACR = 8.84 mg/g.
CREATININE_UMOL_PER_MG_DL = 88.4
ACR_MG_G_PER_MG_MMOL = 8.84


@dataclass(frozen=True)
class Kind:
    """One kind of observation: canonical unit, accepted units (factor to canonical), range."""

    name: str
    unit: str
    factors: dict[str, float]
    low: float  # plausible range, inclusive, in the canonical unit
    high: float
    loinc: str  # the code we write when we export in the canonical unit


KINDS: dict[str, Kind] = {
    k.name: k
    for k in [
        Kind("creatinine", "mg/dL",
             {"mg/dL": 1.0, "umol/L": 1 / CREATININE_UMOL_PER_MG_DL}, 0.2, 25.0, "2160-0"),
        Kind("egfr", "mL/min/1.73m2", {"mL/min/1.73m2": 1.0}, 1.0, 200.0, "98979-8"),
        Kind("acr", "mg/g", {"mg/g": 1.0, "mg/mmol": ACR_MG_G_PER_MG_MMOL}, 0.0, 30000.0,
             "9318-7"),
        Kind("cystatin_c", "mg/L", {"mg/L": 1.0}, 0.2, 10.0, "33863-2"),
        Kind("potassium", "mmol/L", {"mmol/L": 1.0, "mEq/L": 1.0}, 1.5, 10.0, "2823-3"),
        Kind("hemoglobin", "g/dL", {"g/dL": 1.0, "g/L": 0.1}, 3.0, 25.0, "718-7"),
        Kind("hba1c", "%", {"%": 1.0}, 3.0, 20.0, "4548-4"),
        Kind("systolic", "mmHg", {"mmHg": 1.0}, 50.0, 300.0, "8480-6"),
        Kind("diastolic", "mmHg", {"mmHg": 1.0}, 20.0, 200.0, "8462-4"),
    ]
}

# LOINC code -> (kind, the unit the code implies when the sender gives none). Sources:
# loinc.org: 2160-0 Creatinine [Mass/volume] in Serum or Plasma; 14682-9 Creatinine
# [Moles/volume]; 98979-8 eGFR CKD-EPI 2021; 9318-7 Albumin/Creatinine [Mass Ratio] in Urine;
# 32294-1 Albumin/Creatinine [Ratio] in Urine (mg/mmol); 33863-2 Cystatin C; 2823-3 Potassium;
# 718-7 Hemoglobin; 4548-4 HbA1c; 8480-6 / 8462-4 systolic / diastolic blood pressure.
KIND_BY_LOINC: dict[str, tuple[str, str]] = {
    "2160-0": ("creatinine", "mg/dL"),
    "14682-9": ("creatinine", "umol/L"),
    "98979-8": ("egfr", "mL/min/1.73m2"),
    "9318-7": ("acr", "mg/g"),
    "32294-1": ("acr", "mg/mmol"),
    "33863-2": ("cystatin_c", "mg/L"),
    "2823-3": ("potassium", "mmol/L"),
    "718-7": ("hemoglobin", "g/dL"),
    "4548-4": ("hba1c", "%"),
    "8480-6": ("systolic", "mmHg"),
    "8462-4": ("diastolic", "mmHg"),
}
BP_PANEL_LOINC = "85354-9"  # blood pressure panel: systolic and diastolic as components

# How senders spell units (UCUM codes, lab habits) -> our spelling.
_UNIT_ALIASES = {
    "mg/dl": "mg/dL", "umol/l": "umol/L", "µmol/l": "umol/L", "μmol/l": "umol/L",
    "mg/g": "mg/g", "mg/g{creat}": "mg/g", "mg/mmol": "mg/mmol", "mg/mmol{creat}": "mg/mmol",
    "ml/min/1.73m2": "mL/min/1.73m2", "ml/min/{1.73_m2}": "mL/min/1.73m2",
    "ml/min/1.73 m2": "mL/min/1.73m2", "mg/l": "mg/L", "mmol/l": "mmol/L", "meq/l": "mEq/L",
    "g/dl": "g/dL", "g/l": "g/L", "%": "%", "mmhg": "mmHg", "mm[hg]": "mmHg",
}


def normalise_unit(unit: str | None) -> str | None:
    """Our spelling of a unit, or None when we do not know it."""
    if unit is None:
        return None
    return _UNIT_ALIASES.get(unit.strip().lower())


def kind_of(name: str, *, field: str = "kind") -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValidationFailed(field, "unknown kind %(kind)s; known: %(kinds)s",
                                      kind=f"{name!r}", kinds=", ".join(KINDS)) from None


def factor(kind: str, unit: str | None, *, field: str = "unit") -> float:
    """Multiplier from ``unit`` to the kind's canonical unit; refuses units we do not know."""
    k = kind_of(kind)
    spelled = normalise_unit(unit) if unit is not None else k.unit
    if spelled not in k.factors:
        raise ValidationFailed(
            field, "unknown unit %(unit)s for %(kind)s; use one of %(units)s",
                   unit=f"{unit!r}", kind=kind, units=", ".join(k.factors)
        )
    return k.factors[spelled]


def to_canonical(kind: str, value: float, unit: str | None, *, field: str = "value",
                 unit_field: str = "unit") -> float:
    """The value in the canonical unit, refused when it is not physiologically possible."""
    k = kind_of(kind)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(field, "must be a number, got %(got)s", got=f"{value!r}") from None
    if not np.isfinite(v):
        raise ValidationFailed(field, "must be a finite number")
    canonical = round(v * factor(kind, unit, field=unit_field), 6)
    if not k.low <= canonical <= k.high:
        raise ValidationFailed(
            field,
            "%(what)s is not physiologically possible (plausible %(low)s-%(high)s %(unit)s)",
            what=f"{kind} {v:g} {unit or k.unit}", low=f"{k.low:g}", high=f"{k.high:g}", unit=k.unit,
        )
    return canonical


def plausible(kinds: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Vectorised range check over canonical values: True where the value is possible."""
    ok = np.zeros(len(values), dtype=bool)
    for k in KINDS.values():
        m = kinds == k.name
        ok[m] = (values[m] >= k.low) & (values[m] <= k.high)
    return ok & np.isfinite(values)
