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
from mutua.catalog.mutual import mutual_project_id
from mutua.db import copy_columns
from mutua.errors import Worded, worded_record
from mutua.health import alerting, clinical
from mutua.health.columns import (
    EPOCH,
    epoch_days,
    member_chunks,
    np_now,
    parse_times,
    parse_values,
    unique_inverse,
)
from mutua.health.kinds import KIND_BY_LOINC, KINDS, normalise_unit
from mutua.health.models import Observation
from mutua.health.series import kidney_series, load_history, write_results

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
    codes, code_inv = unique_inverse(raw.code)
    code_kind = [_kind_of(c) for c in codes]
    known = np.array([k is not None for k in code_kind], dtype=bool)[code_inv]
    rej.refuse(~known, "code", "unknown LOINC code")
    kind = np.array([k[0] if k else "" for k in code_kind] + [""], dtype=object)[code_inv]
    implied = np.array([k[1] if k else None for k in code_kind] + [None],
                       dtype=object)[code_inv]
    units, unit_inv = unique_inverse(raw.unit)
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

    refs, ref_inv = unique_inverse(raw.member_ref)
    alive_refs = sorted({refs[i] for i in np.unique(ref_inv[rej.alive])})
    patients = patients_fn(db, alive_refs)
    member_id = np.array([patients[r].member_id if r in patients else -1 for r in refs] + [-1],
                         dtype=np.int64)[ref_inv]
    rej.refuse(member_id < 0, "patient", "unknown patient")
    if visible_fn is not None:
        seen = visible_fn(sorted(set(np.unique(member_id[rej.alive]).tolist())))
        rej.refuse(~np.isin(member_id, list(seen)), "patient", "you may not see this patient")
    table = PatientTable.of(patients.values())

    day = epoch_days(when)
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
    # A patient's labs belong to their kidney policy's project, and to the mutual-wide
    # project before they hold one (catalog/mutual.py): never to no project.
    observed_in = np.where(project < 0, mutual_project_id(db), project)
    obs_ids = np.array(numbering.reserve(db, "health_observations", len(b.member)),
                       dtype=np.int64)
    copy_columns(db, Observation.__tablename__, {
        "id": obs_ids, "project_id": observed_in, "member_id": b.member,
        "kind": b.kind, "loinc": b.loinc, "value": b.value,
        "original_value": _short_text(b.original_value, 32),
        "original_unit": _short_text(b.original_unit, 24),
        "effective_at": b.when, "source": np.full(len(b.member), source, dtype=object),
        "received_at": np.full(len(b.member), np_now(now)),
    })
    out.observation_ids = obs_ids.tolist()
    history = load_history(db, sorted(set(b.member.tolist())))
    series = kidney_series(b, obs_ids, history, patients)
    result_ids = write_results(db, series, project_of=patients)
    out.result_ids = result_ids
    hits = alerting.collect_alerts(b, obs_ids, series, history)
    out.alert_count = alerting.write_alerts(db, hits, patients, now)


def _short_text(col: np.ndarray, width: int) -> np.ndarray:
    """Text as sent, cut to the column width (one str() per distinct value)."""
    uniq, inv = unique_inverse(col.tolist())
    return np.array([u[:width] for u in uniq] + [""], dtype=object)[inv]


