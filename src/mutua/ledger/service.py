"""Post journal entries and read balances. Nothing here updates or deletes a posting.

Cash is checked here too: :func:`spend_cash` refuses a payment that would take a project's
cash below zero by more than an approved overdraft facility (:func:`grant_overdraft`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import BigInteger, Integer, Table, bindparam, func, insert, literal, select, true, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog.models import Project
from mutua.catalog.mutual import is_pool
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.db import Money, OneRow, is_sqlite
from mutua.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed, Worded
from mutua.ledger.domain import CASH, CHART, JournalEntry, Posting
from mutua.ledger.models import Account, Entry, Overdraft
from mutua.ledger.models import Posting as PostingRow
from mutua.money import ZERO, from_fen, to_money

# Who may approve an overdraft facility.
OVERDRAFT_APPROVERS = frozenset({Role.FINANCE, Role.ADMIN})
MIN_REASON_CHARS = 5


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
        raise NotFound("project %(project_id)s has no books", project_id=project_id)
    return ids


def post(db: Session, entry: JournalEntry, *, alongside: tuple[OneRow, ...] = ()) -> int:
    """Append one balanced entry; returns its id. A repeated idempotency key is a Conflict.

    ``alongside``: other rows of the same unit of work that need nothing back (the premium
    payment and the audit event of an enrolment). On PostgreSQL they go in the same
    statement as the entry (data-modifying CTEs); elsewhere each is sent first, alone.
    """
    if not _fits_one_statement(db, entry):
        for row in alongside:
            db.execute(row.statement())
        return post_many(db, [entry])[0]
    if entry.idempotency_key:
        _refuse_repeats(db, [entry])
    return _post_in_one_statement(db, entry, alongside)


def _fits_one_statement(db: Session, entry: JournalEntry) -> bool:
    """An entry that can go in one statement with its postings: few postings, and a database
    with data-modifying CTEs (PostgreSQL; SQLite has none)."""
    return len(entry.postings) <= FEW_POSTINGS and not is_sqlite(db.get_bind())


def post_many(db: Session, entries: list[JournalEntry]) -> list[int]:
    """Append many entries with two bulk inserts. Each entry balanced itself when built."""
    if not entries:
        return []
    if len(entries) == 1 and _fits_one_statement(db, entries[0]):
        return [post(db, entries[0])]
    if any(e.idempotency_key for e in entries):
        _refuse_repeats(db, entries)
    entry_ids = []
    for e in entries:  # entries are few (one per job step); postings go in bulk below
        row = Entry(project_id=e.project_id, entry_date=e.entry_date, kind=e.kind, memo=e.memo,
                    reference=e.reference, idempotency_key=e.idempotency_key,
                    reverses_entry_id=e.reverses_entry_id)
        db.add(row)
        db.flush()
        entry_ids.append(row.id)
    postings = [(eid, e.project_id, p) for eid, e in zip(entry_ids, entries, strict=True)
                for p in e.postings]
    if len(postings) <= FEW_POSTINGS:
        _insert_few(db, postings, entries)
    else:
        ids_by_project = {p: account_ids(db, project_id=p) for p in {e.project_id for e in entries}}
        db.execute(insert(PostingRow), [
            {"entry_id": eid, "project_id": project_id, "amount": p.amount,
             "account_id": ids_by_project[project_id][p.account]}
            for eid, project_id, p in postings])
    return entry_ids


# Up to this many postings name their accounts by code in the insert itself (a UNION ALL of
# one SELECT each; SQLite allows 500 in one compound statement); more read the chart first.
FEW_POSTINGS = 16


def _insert_few(db: Session, postings: list[tuple[int, int, Posting]],
                entries: list[JournalEntry]) -> None:
    """Insert postings that look their account ids up themselves: an entry of a single
    enrolment or claim payment then costs no read of the chart. A posting whose account the
    chart lacks selects no row: then say which is missing."""
    # preserve_rowcount: without it SQLAlchemy answers -1 for an INSERT ... SELECT on
    # PostgreSQL, and every entry read the chart again to find no account missing.
    written = db.execute(insert(PostingRow).from_select(
        ["entry_id", "project_id", "account_id", "amount"],
        union_all(*(_posting_row(eid, project_id, p) for eid, project_id, p in postings)),
    ).execution_options(preserve_rowcount=True)).rowcount
    if written != len(postings):
        _refuse_unknown_accounts(db, entries)


def _post_in_one_statement(db: Session, entry: JournalEntry,
                           alongside: tuple[OneRow, ...] = ()) -> int:
    """PostgreSQL: one entry (a single enrolment's premium, a claim payment) and its postings
    in one statement, with the ``alongside`` rows inserted by CTEs of their own: the entry is
    inserted in a data-modifying CTE only if the project's chart holds every account it
    names, and the postings look their accounts up from it. An account the chart lacks
    writes no entry, and is named (NotFound); the caller's unit of work then rolls back."""
    codes = sorted({p.account for p in entry.postings})
    statement = _entry_statement(len(entry.postings), len(codes),
                                 tuple(row.shape for row in alongside))
    params = {"project_id": entry.project_id, "entry_date": entry.entry_date,
              "kind": entry.kind, "memo": entry.memo, "reference": entry.reference,
              "idempotency_key": entry.idempotency_key,
              "reverses_entry_id": entry.reverses_entry_id, "posted_at": utcnow()}
    params.update((f"code_{i}", code) for i, code in enumerate(codes))
    for i, p in enumerate(entry.postings):
        params[f"account_{i}"], params[f"amount_{i}"] = p.account, p.amount
    for n, row in enumerate(alongside):
        params.update((f"alongside_{n}_{column}", v) for column, v in row.values.items())
    # Past the ORM's execution (the statement names mapped classes, so Session.execute
    # would take it through the ORM's result handling for plain ids); pending ORM changes
    # are flushed first, as Session.execute would, so the rows it inserts can refer to them.
    db.flush()
    ids = db.connection().execute(statement, params).scalars().all()
    if len(ids) != len(entry.postings):
        _refuse_unknown_accounts(db, [entry])
    return ids[0]


_ENTRY_COLUMNS = ("project_id", "entry_date", "kind", "memo", "reference", "idempotency_key",
                  "reverses_entry_id", "posted_at")


@lru_cache(maxsize=64)
def _entry_statement(postings: int, codes: int,
                     alongside: tuple[tuple[Table, tuple[str, ...]], ...]) -> Insert:
    """The statement of :func:`_post_in_one_statement` for entries of one shape, its values
    all parameters. Built once per shape and kept: the same statement object keeps its cache
    key, so SQLAlchemy finds it compiled without walking it again (building it and its key
    was a third of an enrolment's own CPU time)."""
    entries = Entry.__table__
    project = bindparam("project_id", type_=Integer())
    chart_has_all = select(func.count()).where(
        Account.project_id == project,
        Account.code.in_([bindparam(f"code_{i}", type_=Account.code.type) for i in range(codes)]),
    ).scalar_subquery()
    values = [bindparam(name, type_=entries.c[name].type) for name in _ENTRY_COLUMNS]
    written = (insert(entries).from_select(list(_ENTRY_COLUMNS),
                                           select(*values).where(chart_has_all == codes))
               .returning(entries.c.id).cte("entry"))
    rows = union_all(*(
        select(written.c.id, project, Account.id, bindparam(f"amount_{i}", type_=Money()))
        .join_from(written, Account, true())
        .where(Account.project_id == project,
               Account.code == bindparam(f"account_{i}", type_=Account.code.type))
        for i in range(postings)))
    statement = insert(PostingRow.__table__).from_select(
        ["entry_id", "project_id", "account_id", "amount"], rows,
    ).returning(PostingRow.__table__.c.entry_id)
    if alongside:  # data-modifying CTEs run whether or not the statement reads them
        statement = statement.add_cte(*(
            insert(table).values({c: bindparam(f"alongside_{n}_{c}", type_=table.c[c].type)
                                  for c in columns}).cte(f"alongside_{n}")
            for n, (table, columns) in enumerate(alongside)))
    return statement


def _posting_row(entry_id: int, project_id: int, posting: Posting):
    return (select(literal(entry_id, BigInteger()), literal(project_id, Integer()), Account.id,
                   literal(posting.amount, Money()))
            .where(Account.project_id == project_id, Account.code == posting.account))


def _refuse_unknown_accounts(db: Session, entries: list[JournalEntry]) -> None:
    for project_id in {e.project_id for e in entries}:
        chart = account_ids(db, project_id=project_id)  # NotFound for a project without books
        missing = sorted({p.account for e in entries if e.project_id == project_id
                          for p in e.postings} - chart.keys())
        if missing:
            raise NotFound("project %(project_id)s has no account %(accounts)s",
                           project_id=project_id, accounts=", ".join(missing))


def _refuse_repeats(db: Session, entries: list[JournalEntry]) -> None:
    """An idempotency key is unique within a project's books (as the table's key is)."""
    keyed = {(e.project_id, e.idempotency_key) for e in entries if e.idempotency_key}
    seen = db.execute(select(Entry.project_id, Entry.idempotency_key).where(
        Entry.project_id.in_({p for p, _ in keyed}),
        Entry.idempotency_key.in_({k for _, k in keyed}))).all()
    repeats = sorted(k for p, k in seen if (p, k) in keyed)
    if repeats:
        raise Conflict("already posted: %(keys)s", keys=", ".join(repeats))


def already_posted(db: Session, *, project_id: int, idempotency_key: str) -> int | None:
    return db.scalar(
        select(Entry.id).where(
            Entry.project_id == project_id, Entry.idempotency_key == idempotency_key
        )
    )


def load_entry(db: Session, entry_id: int) -> JournalEntry:
    e = db.get(Entry, entry_id)
    if e is None:
        raise NotFound("journal entry %(entry_id)s not found", entry_id=entry_id)
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
        raise Conflict("entry %(entry_id)s has already been reversed", entry_id=entry_id)
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
    stmt = select(Project.id, Project.code).where(is_pool()).order_by(Project.code)
    if project_code:
        stmt = stmt.where(Project.code == project_code)
    projects = db.execute(stmt).all()
    if project_code and not projects:
        raise NotFound("unknown project %(code)s", code=f"{project_code!r}")
    return [TrialBalance(pid, code, balances(db, project_id=pid)) for pid, code in projects]


# --- cash and overdrafts --------------------------------------------------------------------

@dataclass(frozen=True)
class CashPosition:
    """What a project may pay out on a date: its cash plus an approved overdraft."""

    balance: Decimal
    overdraft: Decimal  # the limit of the facility in force, 0 without one

    @property
    def available(self) -> Decimal:
        return self.balance + self.overdraft


def cash_balance(db: Session, *, project_id: int, as_of: date | None = None) -> Decimal:
    """The cash account's balance (all postings, or those dated up to ``as_of``)."""
    cash = select(Account.id).where(Account.project_id == project_id,
                                    Account.code == CASH).scalar_subquery()
    stmt = select(fen_sum(PostingRow.amount)).where(PostingRow.project_id == project_id,
                                                    PostingRow.account_id == cash)
    if as_of is not None:
        stmt = stmt.join(Entry, Entry.id == PostingRow.entry_id).where(Entry.entry_date <= as_of)
    return from_fen(db.scalar(stmt) or 0)


def cash_position(db: Session, *, project_id: int, on: date) -> CashPosition:
    """Cash on ``on`` and today, whichever is lower, with the overdraft in force on ``on``.

    The lower of the two: a payment dated ``on`` must be covered then, and must not take
    today's books below zero either.
    """
    balance = min(cash_balance(db, project_id=project_id, as_of=on),
                  cash_balance(db, project_id=project_id))
    facility = overdraft_on(db, project_id=project_id, on=on)
    return CashPosition(balance, facility.limit if facility is not None else ZERO)


def spend_cash(db: Session, *, project_id: int, amount: Decimal, on: date) -> CashPosition:
    """Check that the project can pay ``amount`` on ``on``; Conflict naming the shortfall.

    The project's cash account row is locked first (on PostgreSQL), so two payments checked
    at once are checked one after the other and cannot both spend the same cash. The caller
    posts the payment in the same transaction.
    """
    db.execute(select(Account.id).where(Account.project_id == project_id, Account.code == CASH)
               .with_for_update())
    return covers_cash(db, project_id=project_id, amount=amount, on=on)


def covers_cash(db: Session, *, project_id: int, amount: Decimal, on: date) -> CashPosition:
    """The same check as ``spend_cash`` without taking the lock: a request asks it before it
    queues a payment, so a batch the cash cannot cover is refused while the user waits (the
    batch itself checks again under the lock)."""
    position = cash_position(db, project_id=project_id, on=on)
    if amount > position.available:
        raise Conflict("cash is %(short)s yuan short: this needs %(amount)s, the cash "
                       "balance is %(balance)s and the approved overdraft %(overdraft)s",
                       short=amount - position.available, amount=amount, balance=position.balance,
                       overdraft=position.overdraft)
    return position


def overdraft_on(db: Session, *, project_id: int, on: date) -> Overdraft | None:
    """The facility in force on ``on``: approved, started, not ended, not withdrawn."""
    return db.scalar(select(Overdraft).where(
        Overdraft.project_id == project_id, Overdraft.withdrawn_at.is_(None),
        Overdraft.starts_on <= on, (Overdraft.ends_on.is_(None)) | (Overdraft.ends_on >= on))
        .order_by(Overdraft.id.desc()).limit(1))


def overdrafts(db: Session, *, project_id: int | None = None) -> list[Overdraft]:
    """Every facility, newest first (withdrawn ones too: they are the record)."""
    stmt = select(Overdraft).order_by(Overdraft.id.desc())
    if project_id is not None:
        stmt = stmt.where(Overdraft.project_id == project_id)
    return list(db.scalars(stmt))


def grant_overdraft(db: Session, *, project_id: int, limit: object, reason: str,
                    actor: Principal, starts_on: date | None = None,
                    ends_on: date | None = None) -> Overdraft:
    """Record an overdraft facility a finance officer or an administrator approves.

    One facility at a time per project: a facility that overlaps one still in force is
    refused until that one is withdrawn.
    """
    if actor.role not in OVERDRAFT_APPROVERS:
        raise Forbidden("only finance or an administrator may approve an overdraft")
    starts_on = starts_on or shanghai_today()
    amount = to_money(limit, field="limit")
    reason = (reason or "").strip()
    problems = []
    if amount <= 0:
        problems.append(("limit", Worded("must be above zero")))
    if len(reason) < MIN_REASON_CHARS:
        problems.append(("reason", Worded("say why the project may overdraw its cash")))
    if ends_on is not None and ends_on < starts_on:
        problems.append(("ends_on", Worded("must not be before starts_on")))
    if problems:
        raise ValidationFailed([Problem(f, r) for f, r in problems])
    current = _overlapping(db, project_id=project_id, starts_on=starts_on, ends_on=ends_on)
    if current is not None:
        raise Conflict("overdraft %(id)s is in force over those dates; withdraw it first", id=current.id)
    row = Overdraft(project_id=project_id, limit=amount, reason=reason[:500],
                    starts_on=starts_on, ends_on=ends_on, approved_by=actor.user_id,
                    approved_by_name=actor.username)
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="ledger.overdraft.grant", entity="overdraft",
                 entity_id=row.id, project_id=project_id,
                 detail={"limit": str(amount), "starts_on": str(starts_on),
                         "ends_on": str(ends_on) if ends_on else None, "reason": row.reason})
    return row


def _overlapping(db: Session, *, project_id: int, starts_on: date,
                 ends_on: date | None) -> Overdraft | None:
    stmt = select(Overdraft).where(
        Overdraft.project_id == project_id, Overdraft.withdrawn_at.is_(None),
        (Overdraft.ends_on.is_(None)) | (Overdraft.ends_on >= starts_on))
    if ends_on is not None:
        stmt = stmt.where(Overdraft.starts_on <= ends_on)
    return db.scalar(stmt.limit(1))


def withdraw_overdraft(db: Session, *, overdraft_id: int, actor: Principal) -> Overdraft:
    """End a facility now; the row stays as the record of what was approved."""
    if actor.role not in OVERDRAFT_APPROVERS:
        raise Forbidden("only finance or an administrator may withdraw an overdraft")
    row = db.scalar(select(Overdraft).where(Overdraft.id == overdraft_id).with_for_update())
    if row is None:
        raise NotFound("overdraft %(overdraft_id)s not found", overdraft_id=overdraft_id)
    if row.withdrawn_at is not None:
        raise Conflict("overdraft %(id)s is already withdrawn", id=overdraft_id)
    row.withdrawn_at, row.withdrawn_by = utcnow(), actor.user_id
    audit.record(db, actor=actor, action="ledger.overdraft.withdraw", entity="overdraft",
                 entity_id=row.id, project_id=row.project_id)
    return row
