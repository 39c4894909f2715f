"""The ingest pipeline: raw records -> checked observations -> eGFR, stage, risk, slope, alerts.

One pipeline serves the JSON API (a handful of results), FHIR bundles, partner-lab CSV files
and the million-row benchmark. Every step works on numpy columns; the database is touched by
a few set-based statements (patients, stored history, duplicates, open alerts) and by bulk
writes (``db.copy_columns``: executemany on SQLite, COPY on PostgreSQL).

Raw records are columns of strings: who (member number or id), what (LOINC code or our
kind), value, unit, when (ISO date or date-time; without an offset it is Shanghai time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua import numbering
from mutua.db import copy_columns
from mutua.errors import Worded, worded_record
from mutua.health import alerting, clinical, rules
from mutua.health.columns import (
    member_chunks,
    np_now,
    nullable,
    parse_times,
    parse_values,
)
from mutua.health.kinds import KIND_BY_LOINC, KINDS, normalise_unit
from mutua.health.models import KidneyResult, Observation

EPOCH = np.datetime64("1970-01-01T00:00:00", "us")
US_PER_DAY = 86_400_000_000


@dataclass
class RawRecords:
    """Columns of what a sender gave us, one entry per record (strings, unparsed)."""

    member_ref: list[str] = field(default_factory=list)  # member number, or "#<id>"
    code: list[str] = field(default_factory=list)  # LOINC code, or "kind:<kind>"
    value: list[str] = field(default_factory=list)
    unit: list[str | None] = field(default_factory=list)
    effective: list[str] = field(default_factory=list)
    record: list[int] = field(default_factory=list)  # the sender's record number

    def add(self, *, member_ref, code, value, unit, effective, record) -> None:
        self.member_ref.append(str(member_ref))
        self.code.append(str(code))
        self.value.append(value)
        self.unit.append(unit)
        self.effective.append(effective)
        self.record.append(record)

    def __len__(self) -> int:
        return len(self.record)


@dataclass(frozen=True)
class Patient:
    member_id: int
    birth_day: int  # days since 1970-01-01
    female: bool
    project_id: int | None


@dataclass
class Outcome:
    accepted: int = 0
    rejected: list[dict] = field(default_factory=list)  # {record, field, reason}
    observation_ids: list[int] = field(default_factory=list)
    result_ids: list[int] = field(default_factory=list)
    alert_count: int = 0
    members: set[int] = field(default_factory=set)

    def to_dict(self) -> dict:
        return {"accepted": self.accepted, "rejected_count": len(self.rejected),
                "rejected": self.rejected, "alerts_raised": self.alert_count}


class Rejects:
    """Collects per-record rejections and a mask of records still alive."""

    def __init__(self, records: np.ndarray):
        self.records = records
        self.alive = np.ones(len(records), dtype=bool)
        self.items: list[tuple[int, str, str]] = []

    def refuse(self, mask: np.ndarray, field_name: str, reason) -> None:
        """Refuse the still-alive records in ``mask``; reason is a str or a per-row array."""
        hit = mask & self.alive
        for i in np.flatnonzero(hit):
            r = reason if isinstance(reason, str) else reason[i]
            self.items.append((int(self.records[i]), field_name, r))
        self.alive &= ~hit

    def as_list(self) -> list[dict]:
        return [{"record": r, "field": f, "reason": why, **worded_record(why)}
                for r, f, why in sorted(self.items)]


def _kind_of(code: str):
    if code.startswith("kind:"):
        name = code[5:]
        return (name, None) if name in KINDS else None
    return KIND_BY_LOINC.get(code.strip())


# ---------------------------------------------------------------- the pipeline


def ingest(db: Session, *, raw: RawRecords, source: str, now: datetime,
           patients_fn, visible_fn=None, dry_run: bool = False) -> Outcome:
    """Check, store and evaluate raw records; return what was accepted and what was refused.

    ``patients_fn(db, refs) -> dict[ref, Patient]`` resolves member references;
    ``visible_fn(ids) -> set[int]`` (optional) says which patients the caller may see.
    With ``dry_run`` nothing is written: the outcome only says what would be refused.
    """
    n = len(raw)
    rej = Rejects(np.asarray(raw.record, dtype=np.int64))
    if n == 0:
        return Outcome()
    codes, code_inv = _unique_inverse(raw.code)
    code_kind = [_kind_of(c) for c in codes]
    known = np.array([k is not None for k in code_kind], dtype=bool)[code_inv]
    rej.refuse(~known, "code", "unknown LOINC code")
    kind = np.array([k[0] if k else "" for k in code_kind] + [""], dtype=object)[code_inv]
    implied = np.array([k[1] if k else None for k in code_kind] + [None],
                       dtype=object)[code_inv]
    units, unit_inv = _unique_inverse(raw.unit)
    unit = np.where(np.array([u.strip() in ("", "None") for u in units] + [False])[unit_inv],
                    implied,
                    np.array(units + [""], dtype=object)[unit_inv])
    factor = _unit_factors(kind, unit)
    bad_unit = np.isnan(factor)
    if bad_unit.any():
        rej.refuse(bad_unit, "unit", np.array(
            [Worded("unknown unit %(unit)s for %(kind)s", unit=repr(u), kind=k)
             for u, k in zip(unit, kind, strict=True)], dtype=object))
    values, ok = parse_values(raw.value)
    rej.refuse(~ok, "value", "missing or not a number")
    canonical = np.round(values * np.nan_to_num(factor), 6)
    _refuse_implausible(rej, kind, canonical)
    when, ok = parse_times(raw.effective)
    rej.refuse(~ok, "effective", "missing or not an ISO date-time")
    now64 = np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "us")
    rej.refuse(ok & (when > now64), "effective", "is in the future")

    refs, ref_inv = _unique_inverse(raw.member_ref)
    alive_refs = sorted({refs[i] for i in np.unique(ref_inv[rej.alive])})
    patients = patients_fn(db, alive_refs)
    member_id = np.array([patients[r].member_id if r in patients else -1 for r in refs] + [-1],
                         dtype=np.int64)[ref_inv]
    rej.refuse(member_id < 0, "patient", "unknown patient")
    if visible_fn is not None:
        seen = visible_fn(sorted(set(np.unique(member_id[rej.alive]).tolist())))
        rej.refuse(~np.isin(member_id, list(seen)), "patient", "you may not see this patient")
    table = PatientTable.of(patients.values())

    day = _days(when)
    birth = table.get(member_id, "birth_day")
    minor = (kind == "creatinine") & ((day - birth) / 365.25 < clinical.ADULT_AGE)
    rej.refuse(minor, "patient", "under 18: the adult eGFR equation does not apply")

    key = dedup_keys(member_id, kind, when)
    rej.refuse(key < 0, "effective", "must be after 1970")
    _refuse_duplicates(db, rej, key, member_id, when)

    idx = np.flatnonzero(rej.alive)
    out = Outcome(accepted=len(idx), rejected=rej.as_list())
    if len(idx) == 0 or dry_run:
        return out
    batch = Batch(
        member=member_id[idx], kind=kind[idx], loinc=_loinc(raw.code, kind, idx),
        value=canonical[idx], reported=values[idx],
        original_value=np.asarray(raw.value, dtype=object)[idx],
        original_unit=unit[idx], when=when[idx], day=day[idx], key=key[idx],
    ).sorted()
    out.members = set(np.unique(batch.member).tolist())
    _store_and_evaluate(db, batch, table, source, now, out)
    return out


def _unique_inverse(column: list) -> tuple[list[str], np.ndarray]:
    """Distinct values as text (None -> "None", which no code, unit or member number is)
    and each row's index into them; a dict pass, cheaper than sorting a million strings."""
    uniq = list(dict.fromkeys(column))
    position = {v: i for i, v in enumerate(uniq)}
    inverse = np.fromiter(map(position.__getitem__, column), dtype=np.int64, count=len(column))
    return [str(v) for v in uniq], inverse


@dataclass(frozen=True)
class PatientTable:
    """The batch's patients as sorted columns, for vectorised look-ups by member id."""

    member_id: np.ndarray
    birth_day: np.ndarray
    female: np.ndarray
    project_id: np.ndarray  # -1 when unknown

    @classmethod
    def of(cls, patients) -> PatientTable:
        ps = sorted({p.member_id: p for p in patients}.values(), key=lambda p: p.member_id)
        return cls(np.array([p.member_id for p in ps], dtype=np.int64),
                   np.array([p.birth_day for p in ps], dtype=np.int64),
                   np.array([p.female for p in ps], dtype=bool),
                   np.array([p.project_id or -1 for p in ps], dtype=np.int64))

    def get(self, members: np.ndarray, name: str) -> np.ndarray:
        col = getattr(self, name)
        if len(self.member_id) == 0:
            return np.zeros(len(members), dtype=col.dtype)
        pos = np.searchsorted(self.member_id, members).clip(0, len(self.member_id) - 1)
        return col[pos]


def _unit_factors(kind: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Factor to the canonical unit per row; NaN where the unit is unknown for the kind."""
    kinds, k_inv = np.unique(kind.astype(str), return_inverse=True)
    units, u_inv = np.unique(unit.astype(str), return_inverse=True)
    table = np.full((len(kinds), len(units)), np.nan)
    for i, k in enumerate(kinds):
        for j, u in enumerate(units):
            if k in KINDS:
                spelled = normalise_unit(u) if u != "None" else KINDS[k].unit
                table[i, j] = KINDS[k].factors.get(spelled, np.nan)
    return table[k_inv, u_inv]


def _refuse_implausible(rej: Rejects, kind: np.ndarray, value: np.ndarray) -> None:
    for k in KINDS.values():
        m = (kind == k.name) & ~((value >= k.low) & (value <= k.high))
        if m.any():
            rej.refuse(m, "value", Worded("%(what)s is not physiologically possible (plausible "
                                          "%(low)s-%(high)s %(unit)s)", what=k.name,
                                          low=f"{k.low:g}", high=f"{k.high:g}", unit=k.unit))


def _days(when: np.ndarray) -> np.ndarray:
    # A row without a date (NaT) was refused already; its day is never read, so numpy need
    # not warn about dividing it.
    with np.errstate(invalid="ignore"):
        return ((when - EPOCH) // np.timedelta64(1, "D")).astype(np.int64)


def _loinc(codes: list[str], kind: np.ndarray, idx: np.ndarray) -> np.ndarray:
    c = np.asarray(codes, dtype=object)[idx]
    ours = np.array([str(x).startswith("kind:") for x in c], dtype=bool) if len(c) < 10_000 \
        else np.char.startswith(c.astype(str), "kind:")
    if not ours.any():
        return c
    c = c.copy()
    c[ours] = [KINDS[k].loinc for k in kind[idx][ours]]
    return c


_KIND_CODE = {k: i for i, k in enumerate(KINDS)}


def dedup_keys(member: np.ndarray, kind: np.ndarray, when: np.ndarray) -> np.ndarray:
    """One int64 per (patient, kind, second): member << 38 | kind << 34 | epoch seconds.

    The database holds the same key as a unique constraint on (member_id, kind,
    effective_at); this number lets a million keys be compared in numpy. -1 where the time
    is before 1970 or missing.
    """
    with np.errstate(invalid="ignore"):  # NaT divides to NaN, replaced by -1 here
        secs = (when - EPOCH) // np.timedelta64(1, "s")
    secs = np.where(np.isnat(when), -1, secs).astype(np.int64)
    code = np.array([_KIND_CODE.get(k, 15) for k in kind], dtype=np.int64)
    key = (np.asarray(member, dtype=np.int64) << 38) | (code << 34) | (secs & ((1 << 34) - 1))
    return np.where(secs < 0, -1, key)


def _refuse_duplicates(db: Session, rej: Rejects, key: np.ndarray, member: np.ndarray,
                       when: np.ndarray) -> None:
    alive = np.flatnonzero(rej.alive)
    _, first = np.unique(key[alive], return_index=True)
    dup_in_batch = np.ones(len(key), dtype=bool)
    dup_in_batch[alive[first]] = False
    rej.refuse(dup_in_batch, "record", "duplicate of another record in this batch")
    alive = np.flatnonzero(rej.alive)
    if len(alive) == 0:
        return
    # Stored results of the same patients within the batch's time span.
    lo = when[alive].min().astype(datetime).replace(tzinfo=UTC)
    hi = when[alive].max().astype(datetime).replace(tzinfo=UTC)
    members = np.unique(member[alive]).tolist()
    rows: list[tuple] = []
    for where in member_chunks(Observation.member_id, members):
        rows += db.execute(select(Observation.member_id, Observation.kind,
                                  Observation.effective_at).where(
            where, Observation.effective_at >= lo, Observation.effective_at <= hi)).all()
    if rows:
        m, k, t = zip(*rows, strict=True)
        stored = dedup_keys(np.array(m), np.array(k, dtype=object), np.array(
            [x.astimezone(UTC).replace(tzinfo=None) for x in t], dtype="datetime64[us]"))
        rej.refuse(np.isin(key, stored), "record", "duplicate of a stored result")


@dataclass
class Batch:
    member: np.ndarray
    kind: np.ndarray
    loinc: np.ndarray
    value: np.ndarray  # in the kind's canonical unit
    reported: np.ndarray  # the number as sent, in original_unit
    original_value: np.ndarray
    original_unit: np.ndarray
    when: np.ndarray
    day: np.ndarray
    key: np.ndarray

    def sorted(self) -> Batch:
        """In dedup-key order, so the unique index grows at its end (fast bulk insert)."""
        order = np.argsort(self.key, kind="stable")
        return Batch(**{k: v[order] for k, v in self.__dict__.items()})


def _store_and_evaluate(db, b: Batch, patients: PatientTable, source, now, out) -> None:
    project = patients.get(b.member, "project_id")
    obs_ids = np.array(numbering.reserve(db, "health_observations", len(b.member)),
                       dtype=np.int64)
    copy_columns(db, Observation.__tablename__, {
        "id": obs_ids, "project_id": nullable(project), "member_id": b.member,
        "kind": b.kind, "loinc": b.loinc, "value": b.value,
        "original_value": _short_text(b.original_value, 32),
        "original_unit": _short_text(b.original_unit, 24),
        "effective_at": b.when, "source": np.full(len(b.member), source, dtype=object),
        "received_at": np.full(len(b.member), np_now(now)),
    })
    out.observation_ids = obs_ids.tolist()
    history = load_history(db, sorted(set(b.member.tolist())))
    series = _kidney_series(b, obs_ids, history, patients)
    result_ids = _write_results(db, series, project_of=patients)
    out.result_ids = result_ids
    hits = alerting.collect_alerts(b, obs_ids, series, history)
    out.alert_count = alerting.write_alerts(db, hits, patients, now)


def _short_text(col: np.ndarray, width: int) -> np.ndarray:
    """Text as sent, cut to the column width (one str() per distinct value)."""
    uniq, inv = _unique_inverse(col.tolist())
    return np.array([u[:width] for u in uniq] + [""], dtype=object)[inv]


# ---------------------------------------------------------------- history and series


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
        return (m[keep], _days(when)[keep],
                *(np.array(c, dtype=object)[keep] for c in rest))

    em, ed, ev = cols(e_rows, 3)
    am, ad, av, a_orig, a_unit = cols(a_rows, 5)
    av = av.astype(np.float64)
    return History(em, ed, ev.astype(np.float64), am, ad, av,
                   stored_acr_index(av, a_orig, a_unit))


def acr_index(reported: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """KDIGO A index of each ratio, read in the unit its lab reported (clinical.ACR_LIMITS)."""
    units, inv = _unique_inverse(list(unit))
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


def _kidney_series(b: Batch, obs_ids, h: History, patients) -> Series:
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


def _write_results(db, s: Series, *, project_of) -> list[int]:
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
