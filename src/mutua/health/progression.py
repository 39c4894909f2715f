"""Confirmed CKD progression (肾病进展确认), the evidence behind a progression benefit.

KDIGO 2012 (2.1.3) defines progression as a drop in GFR category with a fall of 25% or
more from the baseline eGFR. A benefit pays only when it is confirmed: two results, at
least 90 days apart, both showing it. The baseline is the first stored result.

>>> evidence([0, 200, 300], [50.0, 36.0, 37.9]).reason
'progression seen on 1970-07-20 but not confirmed 90 days later'
>>> evidence([0, 200, 300], [50.0, 36.0, 35.0]).confirmed
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from mutua.health.clinical import G_CATEGORIES, g_index

CONFIRM_AFTER_DAYS = 90
FALL_FRACTION = 0.25
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Evidence:
    confirmed: bool
    reason: str
    baseline_egfr: float | None = None
    baseline_on: date | None = None
    first_on: date | None = None  # first result showing progression
    confirmed_on: date | None = None  # the result 90+ days later that confirms it
    from_category: str | None = None
    to_category: str | None = None
    egfr: float | None = None


def _day(d: int) -> date:
    return _EPOCH + timedelta(days=int(d))


def evidence(days, egfr) -> Evidence:
    """Evidence from results as days since 1970-01-01 and eGFR values (any order)."""
    d = np.asarray(days, dtype=np.int64)
    e = np.asarray(egfr, dtype=np.float64)
    if len(d) < 2:
        return Evidence(False, "fewer than two kidney results on file")
    order = np.argsort(d, kind="stable")
    d, e = d[order], e[order]
    g = g_index(e)
    base_g, base_e = g[0], e[0]
    prog = (g > base_g) & (e <= (1 - FALL_FRACTION) * base_e)
    common = dict(baseline_egfr=float(base_e), baseline_on=_day(d[0]),
                  from_category=G_CATEGORIES[base_g])
    if not prog.any():
        return Evidence(False, "no result shows a category drop with a 25% fall from baseline",
                        **common)
    first = int(np.flatnonzero(prog)[0])
    later = np.flatnonzero(prog & (d >= d[first] + CONFIRM_AFTER_DAYS))
    if len(later) == 0:
        seen = _day(d[first])
        return Evidence(False, f"progression seen on {seen.isoformat()} but not confirmed "
                               f"{CONFIRM_AFTER_DAYS} days later", first_on=seen, **common)
    k = int(later[0])
    return Evidence(
        True,
        f"{G_CATEGORIES[base_g]} -> {G_CATEGORIES[g[k]]}: eGFR {base_e:g} -> {e[k]:g} "
        f"({(1 - e[k] / base_e):.0%} fall), seen {_day(d[first])} and confirmed {_day(d[k])}",
        first_on=_day(d[first]), confirmed_on=_day(d[k]), to_category=G_CATEGORIES[g[k]],
        egfr=float(e[k]), **common,
    )
