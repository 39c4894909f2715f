"""Reading lab results from outside: FHIR R4 Bundles of Observations and partner-lab CSV.

FHIR: a Bundle (any type) whose entries are Observations, parsed with the R4B models of
``fhir.resources``. The patient is ``subject.reference`` "Patient/<member number>" (or
``subject.identifier.value``); the code is the LOINC coding; the value a valueQuantity; the
time ``effectiveDateTime`` (or ``effectiveInstant``, or ``issued``). A blood-pressure panel
(85354-9) gives its systolic and diastolic components.

CSV (UTF-8, header row)::

    member_number,loinc,value,unit,effective_at
    M000000123,2160-0,1.42,mg/dL,2026-03-01T08:30:00+08:00

A file that is not valid FHIR (or CSV without the columns) is refused whole; within a valid
file each record is accepted or refused on its own, with the reason.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import ValidationError

from mutua.auth.security import Principal
from mutua.bounds import load_json
from mutua.errors import ValidationFailed
from mutua.health import ingest, service
from mutua.health.kinds import BP_PANEL_LOINC
from mutua.settings import get_settings

LOINC_SYSTEM = "http://loinc.org"
CSV_COLUMNS = ("member_number", "loinc", "value", "unit", "effective_at")


def read_fhir(text: str | bytes) -> ingest.RawRecords:
    from fhir.resources.R4B.bundle import Bundle

    data = load_json(text, field="file")  # nested at most bounds.MAX_DEPTH deep
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise ValidationFailed("file", "must be a FHIR Bundle (resourceType Bundle)")
    try:
        bundle = Bundle.model_validate(data)
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[:3]
        raise ValidationFailed("file", "is not valid FHIR R4: %(detail)s",
                               detail=" ".join(first)) from None
    raw = ingest.RawRecords()
    for n, entry in enumerate(bundle.entry or []):
        res = entry.resource
        if res is None or res.get_resource_type() != "Observation":
            raw.add(member_ref="", code="", value=None, unit=None, effective="", record=n)
            continue
        _add_observation(raw, res, n)
    return raw


def _patient_ref(obs) -> str:
    subj = obs.subject
    if subj is None:
        return ""
    if subj.reference and "/" in subj.reference:
        return subj.reference.rsplit("/", 1)[1]
    if subj.identifier is not None and subj.identifier.value:
        return subj.identifier.value
    return ""


def _loinc_of(concept) -> str:
    for c in (concept.coding or []) if concept else []:
        if c.system == LOINC_SYSTEM and c.code:
            return c.code
    return "unknown"


def _when(obs) -> str:
    for t in (obs.effectiveDateTime, obs.effectiveInstant, obs.issued):
        if t is not None:
            return t.isoformat() if hasattr(t, "isoformat") else str(t)
    return ""


def _quantity(q) -> tuple[object, str | None]:
    if q is None or q.value is None:
        return None, None
    return str(q.value), q.code or q.unit


def _add_observation(raw: ingest.RawRecords, obs, n: int) -> None:
    who, when, code = _patient_ref(obs), _when(obs), _loinc_of(obs.code)
    if code == BP_PANEL_LOINC and obs.component:
        for comp in obs.component:
            value, unit = _quantity(comp.valueQuantity)
            raw.add(member_ref=who, code=_loinc_of(comp.code), value=value, unit=unit,
                    effective=when, record=n)
        return
    value, unit = _quantity(obs.valueQuantity)
    raw.add(member_ref=who, code=code, value=value, unit=unit, effective=when, record=n)


def read_csv(text: str) -> ingest.RawRecords:
    header_line, _, body = text.partition("\n")
    header = [h.strip() for h in next(csv.reader([header_line]), [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise ValidationFailed("file", "CSV needs the columns %(columns)s; missing %(missing)s",
                               columns=", ".join(CSV_COLUMNS), missing=", ".join(missing))
    width = len(header)
    cols = _fast_columns(body, width)
    if cols is None:  # quoted fields or ragged rows: the csv module, row by row
        rows = [(r + [""] * width)[:width] for r in csv.reader(io.StringIO(body)) if r]
        cols = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in header]
    pos = [header.index(c) for c in CSV_COLUMNS]
    raw = ingest.RawRecords()
    raw.member_ref, raw.code, raw.value, raw.unit, raw.effective = (cols[p] for p in pos)
    raw.record = list(range(2, len(raw.code) + 2))  # the CSV line number (header is line 1)
    return raw


def _fast_columns(body: str, width: int) -> list[list[str]] | None:
    """Split a plain CSV (no quotes, every row the full width) in two C-level passes."""
    if '"' in body:
        return None
    lines = [ln for ln in body.replace("\r\n", "\n").split("\n") if ln]
    if not lines:
        return [[] for _ in range(width)]
    commas = width - 1
    if not all(ln.count(",") == commas for ln in lines):
        return None
    flat = ",".join(lines).split(",")
    if len(flat) != width * len(lines):
        return None
    if " " not in body:
        return [flat[i::width] for i in range(width)]
    return [[v.strip() for v in flat[i::width]] for i in range(width)]


def import_file(db, *, path: Path, format: str, actor: Principal) -> dict:
    """Import a file; returns accepted count and every refused record with its reason."""
    if format not in ("fhir", "csv"):
        raise ValidationFailed("format", "must be fhir or csv")
    if path.stat().st_size > get_settings().import_max_bytes:
        raise ValidationFailed("file", "is larger than the import limit")
    text = path.read_text(encoding="utf-8-sig")
    raw = read_fhir(text) if format == "fhir" else read_csv(text)
    out = service.import_records(db, actor=actor, raw=raw, source=format)
    return out.to_dict()
