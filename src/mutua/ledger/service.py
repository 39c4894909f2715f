"""Post journal entries and read balances. Nothing here updates or deletes a posting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, func, insert, select
from sqlalchemy.orm import Session

from mutua.errors import Conflict, NotFound
from mutua.ledger.domain import CHART, JournalEntry, Posting
from mutua.ledger.models import Account, Entry
from mutua.ledger.models import Posting as PostingRow
from mutua.money import ZERO, from_fen


def fen_sum(column):
    """SUM of a Money column as raw integer fen (the Money type would read it as yuan)."""
    return func.sum(column, type_=BigInteger)


def open_books(db: Session, *, project_id: int) -> None:
    """Create the project's chart of accounts (idempotent)."""
    have = set(db.scalars(select(Account.code).where(Account.project_id == project_id)))
    rows = [
        {"project_id": project_id, "code": code, "name": name, "kind": kind}
        for code, (name, kind) in CHART.items()
        if code not in have
    ]
    if rows:
        db.execute(insert(Account), rows)


def account_ids(db: Session, *, project_id: int) -> dict[str, int]:
    ids = dict(
        db.execute(
            select(Account.code, Account.id).where(Account.project_id == project_id)
        ).all()
    )
    if not ids:
        raise NotFound(f"project {project_id} has no books")
    return ids


def post(db: Session, entry: JournalEntry) -> int:
    """Append one balanced entry; returns its id. A repeated idempotency key is a Conflict."""
    return post_many(db, [entry])[0]


def post_many(db: Session, entries: list[JournalEntry]) -> list[int]:
    """Append many entries with two bulk inserts. Each entry balanced itself when built."""
    if not entries:
        return []
    if any(e.idempotency_key for e in entries):
        _refuse_repeats(db, entries)
    ids_by_project = {p: account_ids(db, project_id=p) for p in {e.project_id for e in entries}}
    entry_ids = []
    for e in entries:  # entries are few (one per job step); postings go in bulk below
        row = Entry(project_id=e.project_id, entry_date=e.entry_date, kind=e.kind, memo=e.memo,
                    reference=e.reference, idempotency_key=e.idempotency_key,
                    reverses_entry_id=e.reverses_entry_id)
        db.add(row)
        db.flush()
        entry_ids.append(row.id)
    db.execute(
        insert(PostingRow),
        [
            {"entry_id": eid, "project_id": e.project_id,
             "account_id": ids_by_project[e.project_id][p.account], "amount": p.amount}
            for eid, e in zip(entry_ids, entries, strict=True)
            for p in e.postings
        ],
    )
    return entry_ids


def _refuse_repeats(db: Session, entries: list[JournalEntry]) -> None:
    """An idempotency key is unique within a project's books (as the table's key is)."""
    keyed = {(e.project_id, e.idempotency_key) for e in entries if e.idempotency_key}
    seen = db.execute(select(Entry.project_id, Entry.idempotency_key).where(
        Entry.project_id.in_({p for p, _ in keyed}),
        Entry.idempotency_key.in_({k for _, k in keyed}))).all()
    repeats = sorted(k for p, k in seen if (p, k) in keyed)
    if repeats:
        raise Conflict(f"already posted: {', '.join(repeats)}")


def already_posted(db: Session, *, project_id: int, idempotency_key: str) -> int | None:
    return db.scalar(
        select(Entry.id).where(
            Entry.project_id == project_id, Entry.idempotency_key == idempotency_key
        )
    )


def load_entry(db: Session, entry_id: int) -> JournalEntry:
    e = db.get(Entry, entry_id)
    if e is None:
        raise NotFound(f"journal entry {entry_id} not found")
    rows = db.execute(
        select(Account.code, PostingRow.amount)
        .join(Account, Account.id == PostingRow.account_id)
        .where(PostingRow.entry_id == entry_id)
        .order_by(PostingRow.id)
    ).all()
    return JournalEntry(
        project_id=e.project_id, entry_date=e.entry_date, kind=e.kind, memo=e.memo,
        postings=tuple(Posting(code, amount) for code, amount in rows), reference=e.reference,
        reverses_entry_id=e.reverses_entry_id,
    )


def reverse(db: Session, *, entry_id: int, entry_date: date, memo: str) -> int:
    """Correct an entry by posting its mirror image; the original stays as it was."""
    if db.scalar(select(Entry.id).where(Entry.reverses_entry_id == entry_id)) is not None:
        raise Conflict(f"entry {entry_id} has already been reversed")
    original = load_entry(db, entry_id)
    return post(db, original.reversed(entry_id=entry_id, entry_date=entry_date, memo=memo))


@dataclass(frozen=True)
class Balance:
    code: str
    name: str
    kind: str
    balance: Decimal  # debit positive


def balances(db: Session, *, project_id: int, as_of: date | None = None) -> list[Balance]:
    """Every account of the project with its balance (as of a date, inclusive, if given)."""
    summed = (
        select(PostingRow.account_id, fen_sum(PostingRow.amount).label("total"))
        .where(PostingRow.project_id == project_id)
        .group_by(PostingRow.account_id)
    )
    if as_of is not None:
        summed = summed.join(Entry, Entry.id == PostingRow.entry_id).where(
            Entry.entry_date <= as_of
        )
    sub = summed.subquery()
    rows = db.execute(
        select(Account.code, Account.name, Account.kind, sub.c.total)
        .outerjoin(sub, sub.c.account_id == Account.id)
        .where(Account.project_id == project_id)
        .order_by(Account.id)
    ).all()
    # The Money type converts on ORM columns only; sums come back as integer fen.
    return [Balance(c, n, k, from_fen(t or 0)) for c, n, k, t in rows]


def balance_of(db: Session, *, project_id: int, account: str, as_of: date | None = None) -> Decimal:
    for b in balances(db, project_id=project_id, as_of=as_of):
        if b.code == account:
            return b.balance
    return ZERO


@dataclass(frozen=True)
class TrialBalance:
    project_id: int
    project_code: str
    accounts: list[Balance]

    @property
    def total(self) -> Decimal:
        return sum((a.balance for a in self.accounts), ZERO)


def trial_balance(db: Session, *, project_code: str | None = None) -> list[TrialBalance]:
    from mutua.catalog.models import Project

    stmt = select(Project.id, Project.code).order_by(Project.code)
    if project_code:
        stmt = stmt.where(Project.code == project_code)
    projects = db.execute(stmt).all()
    if project_code and not projects:
        raise NotFound(f"unknown project {project_code!r}")
    return [TrialBalance(pid, code, balances(db, project_id=pid)) for pid, code in projects]
