"""A batch's kidney series: the patients' stored history read back, merged with the batch's new
observations in time order, and each result day's eGFR, stage, risk and slope, written as
kidney results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua import numbering
from mutua.db import copy_columns
from mutua.health import clinical, rules
from mutua.health.columns import epoch_days, member_chunks, nullable, parse_values, unique_inverse
from mutua.health.kinds import normalise_unit
from mutua.health.models import KidneyResult, Observation

if TYPE_CHECKING:  # the ingest's batch, named only in annotations (ingest imports this)
    from mutua.health.ingest import Batch


@dataclass
class History:
    """Stored kidney results and ACRs of the batch's patients (columns)."""

    egfr_member: np.ndarray
    egfr_day: np.ndarray
    egfr_value: np.ndarray
    acr_member: np.ndarray
    acr_day: np.ndarray
    acr_value: np.ndarray  # mg/g
    acr_a_idx: np.ndarray  # KDIGO A index, staged in the unit the lab reported


def load_history(db: Session, members: list[int]) -> History:
    e_rows: list[tuple] = []
    a_rows: list[tuple] = []
    for where in member_chunks(KidneyResult.member_id, members):
        e_rows += db.execute(select(KidneyResult.member_id, KidneyResult.effective_at,
                                    KidneyResult.egfr).where(where)).all()
    for where in member_chunks(Observation.member_id, members):
        a_rows += db.execute(select(Observation.member_id, Observation.effective_at,
                                    Observation.value, Observation.original_value,
                                    Observation.original_unit)
                             .where(where, Observation.kind == "acr")).all()
    wanted = np.asarray(members, dtype=np.int64)

    def cols(rows, width):
        if not rows:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64),
                    *(np.zeros(0, object) for _ in range(width - 2)))
        m, t, *rest = zip(*rows, strict=True)
        m = np.array(m, dtype=np.int64)
        keep = np.isin(m, wanted)
        when = np.array([x.astimezone(UTC).replace(tzinfo=None) for x in t],
                        dtype="datetime64[us]")
        return (m[keep], epoch_days(when)[keep],
                *(np.array(c, dtype=object)[keep] for c in rest))

    em, ed, ev = cols(e_rows, 3)
    am, ad, av, a_orig, a_unit = cols(a_rows, 5)
    av = av.astype(np.float64)
    return History(em, ed, ev.astype(np.float64), am, ad, av,
                   stored_acr_index(av, a_orig, a_unit))


def acr_index(reported: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """KDIGO A index of each ratio, read in the unit its lab reported (clinical.ACR_LIMITS)."""
    units, inv = unique_inverse(list(unit))
    in_mg_mmol = np.array([normalise_unit(u) == "mg/mmol" for u in units] + [False])[inv]
    return clinical.a_index(np.asarray(reported, dtype=np.float64), in_mg_mmol)


def stored_acr_index(mg_g: np.ndarray, original: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """The A index of stored ratios from the number and unit as sent; a number that no
    longer parses (cut to the column's width) falls back to the canonical mg/g."""
    sent, ok = parse_values(list(original))
    return acr_index(np.where(ok, sent, mg_g),
                     np.where(ok, unit, "mg/g").astype(object))


@dataclass
class Series:
    """New kidney results with the history merged in, sorted by (member, day)."""

    member: np.ndarray
    day: np.ndarray
    egfr: np.ndarray
    new: np.ndarray
    obs_id: np.ndarray  # -1 for history rows
    when: np.ndarray  # datetime64 of new rows (NaT for history)
    equation: np.ndarray
    g_idx: np.ndarray
    acr: np.ndarray  # latest ACR at or before the reading (NaN when none)
    a_idx: np.ndarray  # -1 when unknown
    risk_2y: np.ndarray
    risk_5y: np.ndarray
    slope: np.ndarray
    slope_n: np.ndarray
    slope_span: np.ndarray


def kidney_series(b: Batch, obs_ids, h: History, patients) -> Series:
    """eGFR for each new creatinine (or reported eGFR), merged with stored results."""
    cr = b.kind == "creatinine"
    rep = b.kind == "egfr"
    female = patients.get(b.member, "female")
    birth = patients.get(b.member, "birth_day")
    age = (b.day - birth) / 365.25
    egfr_new = b.value.astype(np.float64)  # a reported eGFR as it is; other kinds unused
    egfr_new[cr] = clinical.egfr_cr_array(b.value[cr], age[cr], female[cr])
    take = cr | rep
    m = np.concatenate([h.egfr_member, b.member[take]])
    d = np.concatenate([h.egfr_day, b.day[take]])
    e = np.concatenate([h.egfr_value, np.round(egfr_new[take], 1)])
    new = np.concatenate([np.zeros(len(h.egfr_member), bool), np.ones(int(take.sum()), bool)])
    oid = np.concatenate([np.full(len(h.egfr_member), -1, np.int64), obs_ids[take]])
    when = np.concatenate([np.full(len(h.egfr_member), np.datetime64("NaT"), "datetime64[us]"),
                           b.when[take]])
    eq = np.concatenate([np.full(len(h.egfr_member), "", dtype=object),
                         np.where(cr[take], clinical.EQUATION_CR, "reported by the lab")])
    order = np.lexsort((oid, d, m))
    m, d, e, new, oid, when, eq = (x[order] for x in (m, d, e, new, oid, when, eq))
    # The ACR in force at each reading: stored ACRs plus the batch's, as-of join per member.
    is_acr = b.kind == "acr"
    acr_m = np.concatenate([h.acr_member, b.member[is_acr]])
    acr_d = np.concatenate([h.acr_day, b.day[is_acr]])
    acr_v = np.concatenate([h.acr_value, b.value[is_acr]])
    acr_a = np.concatenate([h.acr_a_idx,
                            acr_index(b.reported[is_acr], b.original_unit[is_acr])])
    at = _as_of(m, d, acr_m, acr_d)
    acr, a_idx = _take(acr_v, at, np.nan), _take(acr_a, at, -1)
    pat_birth = patients.get(m, "birth_day")
    pat_female = patients.get(m, "female")
    r2, r5 = clinical.kfre_array((d - pat_birth) / 365.25, pat_female, e,
                                 np.where(np.isnan(acr), 0.0, acr))
    slope, n, span = _running_slopes(m, d, e)
    return Series(m, d, e, new, oid, when, eq, clinical.g_index(e), acr, a_idx, r2, r5,
                   slope, n, span)


def _as_of(m, d, src_m, src_d) -> np.ndarray:
    """For each (m, d): the index in src of the same member's latest row on or before d
    (-1 if none), so every column of that row can be read at it."""
    if len(src_m) == 0:
        return np.full(len(m), -1, dtype=np.int64)
    scale = np.int64(1 << 20)  # days fit in 20 bits for centuries
    src_key = src_m.astype(np.int64) * scale + src_d
    order = np.argsort(src_key, kind="stable")
    pos = np.searchsorted(src_key[order], m.astype(np.int64) * scale + d, side="right") - 1
    ok = (pos >= 0) & (src_m[order][np.maximum(pos, 0)] == m)
    return np.where(ok, order[np.maximum(pos, 0)], -1)


def _take(column: np.ndarray, at: np.ndarray, missing) -> np.ndarray:
    """column[at], with ``missing`` where ``at`` is -1."""
    if len(column) == 0:
        return np.full(len(at), missing)
    return np.where(at >= 0, column[np.maximum(at, 0)], missing)


def _running_slopes(m, d, e):
    """Least-squares slope of each member's readings up to and including each row."""
    x = (d - 20000) / clinical.DAYS_PER_YEAR  # years from 2024-10, keeps sums small
    start = np.ones(len(m), dtype=bool)
    start[1:] = m[1:] != m[:-1]
    grp_start = np.maximum.accumulate(np.where(start, np.arange(len(m)), 0))

    def run(v):
        c = np.cumsum(v)
        before = np.where(grp_start > 0, c[grp_start - 1], 0.0)
        return c - before

    n = run(np.ones(len(m)))
    sx, sy, sxx, sxy = run(x), run(e), run(x * x), run(x * e)
    den = n * sxx - sx * sx
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(den > 1e-9 * np.maximum(n, 1) ** 2, (n * sxy - sx * sy) / den, np.nan)
    first_day = d[grp_start]
    return slope, n.astype(np.int64), (d - first_day).astype(np.float64)


def write_results(db, s: Series, *, project_of) -> list[int]:
    idx = np.flatnonzero(s.new)
    if len(idx) == 0:
        return []
    ids = np.array(numbering.reserve(db, "health_results", len(idx)), dtype=np.int64)
    g = np.array(clinical.G_CATEGORIES, dtype=object)[s.g_idx[idx]]
    a_i = s.a_idx[idx]
    a = np.where(a_i < 0, None, np.array(clinical.A_CATEGORIES + ("",), dtype=object)[a_i])
    risk_i = rules.heat_risk_index(s.g_idx[idx], a_i)
    risk = np.where(risk_i < 0, None, np.array(clinical.RISKS + ("",), dtype=object)[risk_i])
    project = project_of.get(s.member[idx], "project_id")
    copy_columns(db, KidneyResult.__tablename__, {
        "id": ids, "project_id": nullable(project), "member_id": s.member[idx],
        "observation_id": s.obs_id[idx], "effective_at": s.when[idx],
        "egfr": s.egfr[idx], "equation": s.equation[idx], "g_category": g,
        "acr_mg_g": _float_or_none(s.acr[idx]), "a_category": a, "risk": risk,
        "risk_2y": _float_or_none(np.round(s.risk_2y[idx], 6)),
        "risk_5y": _float_or_none(np.round(s.risk_5y[idx], 6)),
        "slope": _float_or_none(np.round(s.slope[idx], 4)),
    })
    return ids.tolist()


def _float_or_none(v: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(v), None, v.astype(object))
