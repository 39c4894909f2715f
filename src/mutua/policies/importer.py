"""Bulk enrolment (团体批量投保): a group enrols many members at once from a CSV or Excel file.

A delivery platform or a fleet sends one file with the columns
``name, id_number, phone, occupation_code, city`` (any order, one header row). Every row is
checked by the same rules as a single registration, a chunk of rows at a time as columns
(:func:`mutua.members.service.validate_many`, which a single registration calls too) and
by the product's eligibility rules (:func:`mutua.policies.service.quote`, before anyone is
registered, then :func:`mutua.policies.bulk_enrolment.enrol_many` for duplicates). The answer
lists each bad row by its row number in the file (the header is row 1), with the field and
the rule it breaks. Valid rows are registered (a member already registered under the same ID
number is reused) and enrolled with set-based statements; with ``all_or_nothing`` a single bad
row means nothing is stored at all.

A file that cannot be read as a table (wrong header, not CSV or .xlsx, binary, empty) or that
is too large is refused whole before anything is stored. An .xlsx is read in a process of
its own with a ceiling on memory and time (members/xlsx_reader.py), after its zip directory
has been checked, so a zip bomb is refused rather than felt by the server.

>>> table = read_table(b"name,id_number,phone,occupation_code,city\\n"
...                    b"Li Lei,11010519491231002X,13800138000,E0501,Shenzhen\\n", filename="x.csv")
>>> table.kind, len(table.rows), table.rows[0][0], record(table.rows[0][1])["occupation_code"]
('csv', 1, 2, 'E0501')
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.models import Product, SalePeriod
from mutua.dates import today as shanghai_today
from mutua.db import batched
from mutua.errors import Problem, ValidationFailed
from mutua.members import service as members_service
from mutua.members import xlsx_reader
from mutua.money import ZERO
from mutua.policies import bulk_enrolment, first_logins
from mutua.policies import service as policies_service
from mutua.settings import Settings, get_settings

COLUMNS = ("name", "id_number", "phone", "occupation_code", "city")
PROGRESS_EVERY_ROWS = 20_000  # rows checked at once (as columns) between two reports
# Rows read, checked, registered and enrolled at a time: the import holds one chunk's rows,
# members and ids, whatever the file's size (a million rows held whole peaked at 1.7 GB).
CHUNK_ROWS = 100_000
DECODE_BLOCK = 1 << 20  # bytes decoded at a time when the encoding is chosen
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (and other OLE2 documents)


@dataclass(frozen=True)
class Table:
    """The rows of an import file: (row number in the file, the cells in COLUMNS order).

    A row is a tuple, not a dict: a million-row file held as one dict per row took about a
    gigabyte more than the same cells as tuples (:func:`record` makes the dict when needed).
    """

    kind: str  # "csv" | "xlsx"
    rows: list[tuple[int, tuple[str, ...]]]


def record(cells: tuple[str, ...]) -> dict[str, str]:
    """A row's cells by column name."""
    return dict(zip(COLUMNS, cells, strict=True))


@dataclass
class ImportReport:
    """What an import did: counts, each bad row with its problems, and the throughput."""

    product_code: str
    period_code: str
    file_kind: str
    rows: int = 0
    enrolled: int = 0
    registered: int = 0  # members new to the mutual
    reused: int = 0  # members already registered under the same ID number
    logins: int = 0  # member logins created for first sign-in by phone code
    premium_total: Decimal = ZERO
    all_or_nothing: bool = False
    stored: bool = True
    bad_rows: dict[int, list[Problem]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return round(self.rows / self.seconds, 1) if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "product": self.product_code, "period": self.period_code, "file_kind": self.file_kind,
            "rows": self.rows, "enrolled": self.enrolled, "registered": self.registered,
            "reused": self.reused, "logins": self.logins, "bad": len(self.bad_rows),
            "premium_total": str(self.premium_total), "all_or_nothing": self.all_or_nothing,
            "stored": self.stored, "seconds": round(self.seconds, 3),
            "rows_per_second": self.rows_per_second,
            "bad_rows": [{"row": row, "problems": [{"field": p.field, "rule": p.rule}
                                                   for p in problems]}
                         for row, problems in sorted(self.bad_rows.items())],
        }


class ImportRefused(ValidationFailed):
    """All-or-nothing import with bad rows: nothing is stored; the report says why (HTTP 422)."""

    def __init__(self, report: ImportReport):
        self.report = report
        first = min(report.bad_rows)
        problems = [p.at(f"rows[{row}].{p.field}")
                    for row, ps in sorted(report.bad_rows.items()) for p in ps]
        super().__init__(problems)
        self.message = (f"{len(report.bad_rows)} of {report.rows} rows are bad (first: row "
                        f"{first}); all-or-nothing import stored nothing")

    def to_dict(self) -> dict:
        return {"error": self.code, "message": self.message,
                "problems": [{"field": p.field, "rule": p.rule} for p in self.problems[:1000]],
                "report": self.report.to_dict()}


# --- reading the file -------------------------------------------------------------------

def read_table(data: bytes, *, filename: str = "", settings: Settings | None = None,
               check_header=None, columns: tuple[str, ...] = COLUMNS) -> Table:
    """Parse an upload into rows, or refuse it whole with ValidationFailed("file", rule).

    ``check_header`` reads the header into column names (a member list's by default); other
    uploads (premium collection files) pass their own and their ``columns``, in whose order
    each row's cells come (a column the file leaves out reads as "")."""
    kind, rows = stream_table(data, filename=filename, settings=settings,
                              check_header=check_header, columns=columns)
    return Table(kind, list(rows))


def check_table(data: bytes, *, filename: str = "", settings: Settings | None = None) -> int:
    """Read a member list through without keeping its rows, refusing it as :func:`read_table`
    would; returns its row count (a job's upload is checked before it is queued)."""
    return sum(1 for _ in stream_table(data, filename=filename, settings=settings)[1])


def stream_table(data: bytes, *, filename: str = "", settings: Settings | None = None,
                 check_header=None, columns: tuple[str, ...] = COLUMNS,
                 ) -> tuple[str, Iterator[tuple[int, tuple[str, ...]]]]:
    """The file's kind and its rows as they are read (a million-row import holds a chunk of
    them at a time, not the file's text and every row). A file refused whole before its
    first row is refused here; one refused further on (too many rows, a bad byte) raises
    from the iterator, and the caller's transaction stores nothing."""
    check_header = check_header or _check_header
    settings = settings or get_settings()
    max_bytes, max_rows = settings.import_max_bytes, settings.import_max_rows
    if len(data) > max_bytes:
        raise ValidationFailed("file", "is larger than the limit of %(limit)s bytes", limit=f"{max_bytes:,}")
    if not data.strip():
        raise ValidationFailed("file", "is empty")
    name = filename.lower()
    if data.startswith(_OLE_MAGIC) or name.endswith(".xls"):
        raise ValidationFailed("file", "is a legacy .xls workbook; save it as .xlsx or CSV")
    if data.startswith(_ZIP_MAGIC):
        return "xlsx", _xlsx_rows(data, settings, check_header, columns)
    if name.endswith(".xlsx"):
        raise ValidationFailed("file", "is named .xlsx but is not an Excel workbook")
    text = _text(data)
    return "csv", _csv_rows(text, max_rows, check_header, columns)


def _text(data: bytes) -> io.TextIOBase:
    """The file as text, decoded as it is read; the encoding is chosen first by decoding the
    bytes through once without keeping the text (a million rows are some 100 MB of str)."""
    if b"\x00" in data[:65536]:
        raise ValidationFailed("file", "is binary, not a CSV text file or an .xlsx workbook")
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK by default
        if _decodes(data, encoding):
            return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    raise ValidationFailed("file", "is neither UTF-8 nor GB18030 text")


def _decodes(data: bytes, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    try:
        for start in range(0, len(data), DECODE_BLOCK):
            decoder.decode(view[start:start + DECODE_BLOCK], final=False)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _csv_rows(text: io.TextIOBase, max_rows: int, check_header, columns: tuple[str, ...],
              ) -> Iterator[tuple[int, tuple[str, ...]]]:
    try:
        records = csv.reader(text)
        found = check_header(next(records, None))
        yield from _collect(records, found, columns, max_rows)
    except csv.Error as exc:
        raise ValidationFailed("file", "is not well-formed CSV: %(detail)s", detail=exc) from None


def _xlsx_rows(data: bytes, settings: Settings, check_header, columns: tuple[str, ...],
               ) -> Iterator[tuple[int, tuple[str, ...]]]:
    """The first sheet's rows, read by calamine (Rust; openpyxl, even read-only, parsed a
    100,000-row group file at about 1,100 rows a second, a fifth of the import's target) in
    a process with a ceiling on its memory and time."""
    xlsx_reader.check_archive(data, max_unpacked=settings.import_max_unpacked_bytes)
    records = xlsx_reader.read_rows(
        data, max_rows=settings.import_max_rows, memory_bytes=settings.import_max_memory_bytes,
        cpu_seconds=settings.import_max_seconds)
    try:
        found = check_header(next(records, None))
        yield from _collect(records, found, columns, settings.import_max_rows)
    finally:
        records.close()  # a refusal part-way stops the reading process at once


def _check_header(header: list[str] | None) -> list[str]:
    if not header:
        raise ValidationFailed("file", "is empty")
    names = [str(h or "").strip().lstrip("\ufeff").lower() for h in header]
    while names and not names[-1]:
        names.pop()  # spreadsheets often carry empty trailing columns
    if not set(names) & set(COLUMNS):  # not a member list at all (a PDF, a photo, a letter)
        raise ValidationFailed("file", "is not a member list: its first line names none of "
                                       "the columns %(columns)s", columns=", ".join(COLUMNS))
    missing = [c for c in COLUMNS if c not in names]
    unknown = [n or "(blank)" for n in names if n not in COLUMNS]
    repeated = sorted({n for n in names if names.count(n) > 1 and n in COLUMNS})
    if missing or unknown or repeated:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + \
                ([f"unknown {', '.join(unknown)}"] if unknown else []) + \
                ([f"repeated {', '.join(repeated)}"] if repeated else [])
        raise ValidationFailed("file.header", "must name the columns %(columns)s once each "
                                              "(%(detail)s)",
                                              columns=", ".join(COLUMNS), detail='; '.join(parts))
    return names


def _collect(records, found: list[str], columns: tuple[str, ...], max_rows: int,
             ) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Rows with their cells moved from the file's order (``found``) to ``columns`` order."""
    count = 0
    where = [found.index(c) if c in found else len(found) for c in columns]  # absent: ""
    for number, cells in enumerate(records, start=2):
        if not any(str(v).strip() for v in cells):
            continue  # blank lines, and the empty rows spreadsheets leave at the end
        if count >= max_rows:
            raise ValidationFailed("file", "has more than %(limit)s rows; split it", limit=f"{max_rows:,}")
        width = min(len(cells), len(found))  # a short row lacks its last cells
        count += 1
        yield number, tuple(cells[i] if i < width else "" for i in where)
    if not count:
        raise ValidationFailed("file", "has a header but no rows")


# --- the import -------------------------------------------------------------------------

def import_members(db: Session, *, data: bytes, filename: str, product_code: str,
                   period_code: str, actor: Principal, all_or_nothing: bool = False,
                   on: date | None = None, settings: Settings | None = None,
                   progress=None, logins: bool = False) -> ImportReport:
    """Register and enrol every valid row of a group file; report every bad one.

    Raises ValidationFailed for a file that cannot be read (nothing stored), and
    ImportRefused when ``all_or_nothing`` and any row is bad (the caller's transaction
    rolls back, so nothing is stored). The file is read, checked, registered and enrolled
    CHUNK_ROWS rows at a time, so the import's memory does not grow with the file; a person
    on two rows is still refused on the second, in whichever chunks they fall, and the
    premiums are booked in one entry at the end. ``progress(done, total, stage)``, when
    given, hears the rows done so far (a job's progress bar; the total is the file's lines,
    or None for a workbook). With ``logins`` every member of the file without a login gets
    one, set-based, and an SMS saying how to sign in the first time (policies/first_logins.py).
    """
    started = time.perf_counter()
    settings = settings or get_settings()
    on = on or shanghai_today()
    product = catalog_service.get_product(db, code=product_code)
    period = catalog_service.get_period(db, product=product, code=period_code)
    bulk_enrolment.refuse_kidney_products(product)  # before anyone is registered
    kind, rows = stream_table(data, filename=filename, settings=settings)
    run = _Run(db, product=product, period=period, on=on, actor=actor, logins=logins,
               reference="import:" + hashlib.sha256(data).hexdigest()[:16],
               report=ImportReport(product_code, period_code, kind, all_or_nothing=all_or_nothing),
               progress=progress, total=data.count(b"\n") if kind == "csv" else None)
    for rows_through, valid in checked_ahead(run.check, batched(rows, CHUNK_ROWS)):
        run.write(valid, rows_through)
    report = run.report
    if all_or_nothing and report.bad_rows:
        return _refuse(report, started)
    bulk_enrolment.book_paid(db, product_code=product_code, period_code=period_code,
                             count=report.enrolled, on=on, reference=run.reference, actor=actor)
    audit.record(db, actor=actor, action="members.import", entity="product", entity_id=product.id,
                 project_id=product.project_id,
                 detail={"period": period_code, "reference": run.reference, "rows": report.rows,
                         "registered": report.registered, "enrolled": report.enrolled,
                         "bad": len(report.bad_rows)})
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Run:
    """One import between its chunks: what it read once (the quoter), its report, and the ID
    numbers of the file's valid rows so far (as integers: the first 17 digits, which fix the
    check character; some 60 MB at a million rows, where the rows themselves took 1.7 GB)."""

    db: Session
    product: Product
    period: SalePeriod
    on: date
    actor: Principal
    report: ImportReport
    reference: str
    logins: bool
    progress: object
    total: int | None
    in_file: set[int] = field(default_factory=set)
    quote: object = field(init=False)
    reported: int = 0  # rows said done to ``progress``

    def __post_init__(self) -> None:
        cells = catalog_service.table_cells(self.db, table_id=self.period.coefficient_table_id)
        self.quote = policies_service.quoter(self.db, product=self.product, period=self.period,
                                             on=self.on, cells=cells)

    def check(self, rows: list[tuple[int, tuple[str, ...]]]) -> tuple[int, list]:
        """Check one chunk of rows by the registration and the product's rules. It reads
        nothing from the database, so it runs ahead of the writing (see checked_ahead)."""
        report, done = self.report, self.report.rows
        report.rows += len(rows)
        valid = validate_rows(rows, today=self.on, bad=report.bad_rows,
                              progress=self._progress_from(done))
        valid = eligible_rows(valid, quote=self.quote, bad=report.bad_rows)
        return report.rows, self._first_in_file(valid)

    def write(self, valid, rows_through: int) -> None:
        """Register and enrol a checked chunk's rows, unless an all-or-nothing import
        already has a bad row (then the rest are only checked)."""
        if not (self.report.all_or_nothing and self.report.bad_rows):
            self._enrol(valid)
        self._report(rows_through, "enrolling")

    def _first_in_file(self, valid):
        """Rows whose person an earlier row of the file holds are refused as already
        holding the product (the chunks are checked in order, by one thread)."""
        out = []
        for row, member, offer in valid:
            key = int(member.id_number[:17])
            if key in self.in_file:
                self.report.bad_rows[row] = [Problem("policy", policies_service.already_holds(
                    self.product.code, self.period.code))]
            else:
                self.in_file.add(key)
                out.append((row, member, offer))
        return out

    def _enrol(self, valid) -> None:
        """Register the chunk's people and enrol them: those new to the mutual straight
        from their checked rows (enrol_registered), those registered before by enrol_many,
        which reads what they hold."""
        report, db = self.report, self.db
        new: set[int] = set()
        ids = members_service.register_many(db, [m for _, m, _ in valid], registered=new)
        report.registered += len(new)
        report.reused += len(ids) - len(new)
        fresh, classes, offers, known = [], [], [], []
        for row, member, offer in valid:
            mid = ids[member.id_number]
            if mid in new:
                fresh.append(mid)
                classes.append(member.occupation_class)
                offers.append(offer)
            else:
                known.append(bulk_enrolment.Enrolment(mid, row))
        report.premium_total += bulk_enrolment.enrol_registered(
            db, product=self.product, period=self.period, on=self.on, reference=self.reference,
            member_ids=fresh, classes=classes, offers=offers)
        report.enrolled += len(fresh)
        if known:
            result = bulk_enrolment.enrol_many(
                db, product_code=self.product.code, period_code=self.period.code,
                actor=self.actor, on=self.on, enrolments=known, reference=self.reference,
                all_or_nothing=report.all_or_nothing, book=False)
            for row, problems in result.problems.items():
                report.bad_rows.setdefault(row, []).extend(problems)
            report.enrolled += result.enrolled
            report.premium_total += result.premium_total
        if self.logins:
            report.logins += first_logins.open_logins(db, member_ids=list(ids.values()),
                                                      project_id=self.product.project_id)

    def _progress_from(self, done: int):
        if self.progress is None:
            return None
        return lambda start, _, stage: self._report(done + start, stage)

    def _report(self, done: int, stage: str) -> None:
        """Rows done so far, never fewer than last said (the checking runs a chunk ahead)."""
        self.reported = max(self.reported, done)
        if self.progress is not None:
            self.progress(self.reported, max(self.total or 0, self.reported) or None, stage)


def checked_ahead(check, chunks) -> Iterator:
    """``check(chunk)`` for each chunk, the next one checked in a thread of its own while the
    caller writes this one.

    The checking is Python and the writing mostly waits on PostgreSQL's COPY (a profile of
    a 300,000-row import: 27 % of its time in waiting for COPY to finish), so the two
    overlap on two cores. The thread reads no database and shares no session; the chunks
    are drawn from ``chunks`` by that thread alone, one at a time.
    """
    def next_checked():
        chunk = next(chunks, None)
        return None if chunk is None else check(chunk)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mutua-import-check") as pool:
        ahead = pool.submit(next_checked)
        while (checked := ahead.result()) is not None:
            ahead = pool.submit(next_checked)
            yield checked


def validate_rows(rows: list[tuple[int, tuple[str, ...]]], *, today: date,
                  bad: dict[int, list[Problem]],
                  progress=None) -> list[tuple[int, members_service.ValidMember]]:
    """The registration rules over the rows, a chunk of columns at a time; bad rows land in
    ``bad`` by row number."""
    valid = []
    for start in range(0, len(rows), PROGRESS_EVERY_ROWS):
        if progress is not None:
            progress(start, len(rows), "checking rows")
        chunk = rows[start:start + PROGRESS_EVERY_ROWS]
        ok, problems = members_service.validate_many([record(cells) for _, cells in chunk],
                                                     today=today)
        valid.extend((chunk[i][0], member) for i, member in ok)
        bad.update((chunk[i][0], found) for i, found in problems.items())
    return valid


def eligible_rows(valid, *, quote, bad: dict[int, list[Problem]],
                  ) -> list[tuple[int, members_service.ValidMember, policies_service.Offer]]:
    """Rows whose person may hold the product (age at cover start, class, sale window), with
    their offer, by the import's ``quote`` (policies.service.quoter).

    Checked before anyone is registered, so a row that cannot be enrolled leaves no member
    behind; enrol_many checks again against what is stored (and for duplicates).
    """
    out = []
    for row, member in valid:
        offer = quote(member)
        if offer.problems:
            bad[row] = list(offer.problems)
        else:
            out.append((row, member, offer))
    return out


def _refuse(report: ImportReport, started: float) -> ImportReport:
    report.enrolled, report.registered, report.reused = 0, 0, 0
    report.premium_total, report.stored = ZERO, False
    report.seconds = time.perf_counter() - started
    raise ImportRefused(report)
