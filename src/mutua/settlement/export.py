"""The quarter's records for auditors and the regulator: one zip of CSV files and a data
dictionary, written row batch by row batch so a million policies never sit in memory.

Files: ``data_dictionary.csv`` (every column of every file, what it means), ``ledger.csv``
(every posting of the quarter's entries), ``policies.csv`` (policies with cover in the
quarter, by member number, never names or identity numbers), ``claims.csv`` (claims
reported by the quarter's end and not settled before it began), ``reserves.csv`` (the
reserve movement report, movements.py). Amounts are yuan with two decimals.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from typing import IO

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.models import Product, Project
from mutua.catalog.mutual import is_pool
from mutua.claims.models import Claim
from mutua.dates import Quarter
from mutua.errors import NotFound
from mutua.ledger.models import Account, Entry, Posting
from mutua.members.models import Member
from mutua.policies.models import Policy
from mutua.settlement import movements

BATCH = 5_000
CHUNK = 64 * 1024

DICTIONARY: dict[str, list[tuple[str, str]]] = {
    "ledger.csv": [
        ("entry_id", "journal entry number; postings of one entry sum to zero"),
        ("entry_date", "date of the entry (Asia/Shanghai)"),
        ("kind", "what posted it: premium, claim_reserve, claim_approved, claims_paid, "
                 "close:<step>, reinsurance, reversal:<kind>"),
        ("reference", "policy, claim, batch or quarter the entry is about"),
        ("memo", "the entry's description"),
        ("account", "account code of the project's chart of accounts"),
        ("account_kind", "asset, liability, equity, income or expense"),
        ("amount", "yuan; debit positive, credit negative")],
    "policies.csv": [
        ("policy_number", "policy number"), ("member_number", "member number (no names)"),
        ("product", "product code"), ("status", "in_force or cancelled"),
        ("enrolled_on", "date of enrolment"), ("cover_start", "first day of cover"),
        ("cover_end", "last day of cover (a cancellation moves it)"),
        ("premium", "premium, yuan"), ("refund", "premium refunded on cancellation, yuan"),
        ("coefficient", "sum-insured coefficient (age band and occupation class)"),
        ("occupation_class", "occupation class 1-6 at enrolment")],
    "claims.csv": [
        ("claim_number", "claim number"), ("policy_number", "policy claimed on"),
        ("event_type", "accident, sudden_death or illness"), ("event_date", "date of event"),
        ("reported_on", "date reported"), ("decided_on", "date of the latest decision"),
        ("status", "state at the export: reported, under_review, decided, paid, closed, "
                   "reopened"),
        ("approved", "approved in all, yuan"), ("paid", "paid in all, yuan"),
        ("case_reserve", "case reserve held at the export, yuan")],
    "reserves.csv": [
        ("line", "reserve line (movements.RESERVE_LINES)"),
        ("account", "the ledger account the line is"),
        ("row", "opening, a movement by entry kind, or closing"),
        ("kind", "for a movement: the kind of entry that moved the line"),
        ("amount", "yuan, as a liability reads (credit balances positive)"),
        ("source", "on the closing row: the same figure from claims or the close"),
        ("ties", "on the closing row: whether the books and the source agree")],
}


class _Sheet:
    """A CSV file inside the zip, written as rows arrive."""

    def __init__(self, zf: zipfile.ZipFile, name: str):
        self._raw = zf.open(name, "w")
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8", newline="")
        self.writer = csv.writer(self._text)
        self.writer.writerow([c for c, _ in DICTIONARY[name]])

    def close(self) -> None:
        self._text.flush()
        self._text.detach()
        self._raw.close()


def _stream(db: Session, w, stmt, *, money: tuple[int, ...]) -> int:
    """Write the statement's rows as they are read (``BATCH`` at a time), the columns at the
    ``money`` positions with two decimals; returns how many rows were written."""
    n = 0
    for row in db.execute(stmt.execution_options(yield_per=BATCH)):
        w.writerow([_money(v) if i in money else v for i, v in enumerate(row)])
        n += 1
    return n


def write(db: Session, out: IO[bytes], *, project_code: str, quarter: str,
          actor: Principal) -> dict:
    """Write the zip to ``out``; returns how many rows each file holds."""
    project = db.scalar(select(Project).where(Project.code == project_code, is_pool()))
    if project is None:
        raise NotFound("unknown project %(code)s", code=f"{project_code!r}")
    q = Quarter.parse(quarter)
    counts = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("data_dictionary.csv", "w") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            w = csv.writer(text)
            w.writerow(["file", "column", "meaning"])
            for name, cols in DICTIONARY.items():
                w.writerows([name, c, m] for c, m in cols)
            text.flush()
            text.detach()
        for name, fill in (("ledger.csv", _ledger), ("policies.csv", _policies),
                           ("claims.csv", _claims), ("reserves.csv", _reserves)):
            sheet = _Sheet(zf, name)
            counts[name] = fill(db, sheet.writer, project, q)
            sheet.close()
    audit.record(db, actor=actor, action="settlement.export", entity="project",
                 entity_id=project.id, project_id=project.id,
                 detail={"quarter": str(q), **counts})
    return counts


def _money(x) -> str:
    return f"{x:.2f}"


def _ledger(db: Session, w, project: Project, q: Quarter) -> int:
    return _stream(db, w, select(Entry.id, Entry.entry_date, Entry.kind, Entry.reference,
                                Entry.memo, Account.code, Account.kind, Posting.amount)
                     .join(Posting, Posting.entry_id == Entry.id)
                     .join(Account, Account.id == Posting.account_id)
                     .where(Entry.project_id == project.id,
                            Entry.entry_date.between(q.start, q.end))
                     .order_by(Entry.id, Posting.id), money=(7,))


def _policies(db: Session, w, project: Project, q: Quarter) -> int:
    return _stream(db, w, select(Policy.policy_number, Member.member_number, Product.code,
                              Policy.status, Policy.enrolled_on, Policy.cover_start,
                              Policy.cover_end, Policy.premium, Policy.refund,
                              Policy.coefficient, Policy.occupation_class)
                   .join(Member, Member.id == Policy.member_id)
                   .join(Product, Product.id == Policy.product_id)
                   .where(Policy.project_id == project.id, Policy.cover_start <= q.end,
                          Policy.cover_end >= q.start)
                   .order_by(Policy.id), money=(7, 8))


def _claims(db: Session, w, project: Project, q: Quarter) -> int:
    return _stream(db, w, select(Claim.claim_number, Policy.policy_number, Claim.event_type,
                              Claim.event_date, Claim.reported_on, Claim.decided_on,
                              Claim.status, Claim.approved, Claim.paid, Claim.case_reserve)
                   .join(Policy, Policy.id == Claim.policy_id)
                   .where(Claim.project_id == project.id, Claim.reported_on <= q.end,
                          or_(Claim.closed_on.is_(None), Claim.closed_on >= q.start))
                   .order_by(Claim.id), money=(7, 8, 9))


def _reserves(db: Session, w, project: Project, q: Quarter) -> int:
    report = movements.movement_report(db, project_code=project.code, quarter=str(q))
    n = 0
    for line in report["lines"]:
        rows = [[line["line"], line["account"], "opening", "", line["opening"], "", ""]]
        rows += [[line["line"], line["account"], "movement", m["kind"], m["amount"], "", ""]
                 for m in line["movements"]]
        rows.append([line["line"], line["account"], "closing", "", line["closing"],
                     line["source"] or "", "" if line["ties"] is None else line["ties"]])
        w.writerows(rows)
        n += len(rows)
    return n


def chunks(f: IO[bytes]) -> Iterator[bytes]:
    """The written file from its start, in chunks (what the API streams)."""
    f.seek(0)
    while block := f.read(CHUNK):
        yield block
    f.close()
