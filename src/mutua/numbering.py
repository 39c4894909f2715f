"""Business numbers (member, policy, claim and complaint numbers) and other counters, safe
under concurrency.

On PostgreSQL the business numbers come from sequences (:data:`SEQUENCES`): a number is one
``nextval`` on the caller's own connection, which locks nothing and is never rolled back, so
concurrent enrolments never queue for it and one that fails leaves a gap, as on paper a
spoilt form does (an enrolment's first read draws its policy's number with the member and
product: ``policies.service._enrolling``). A bulk enrolment draws its block with one
statement; a block is not necessarily consecutive when single enrolments run beside it.

Other counters (and every counter on SQLite) are rows of ``counters``, advanced with one
``UPDATE ... RETURNING``, which both SQLite (3.35+) and PostgreSQL run atomically:

``reserve`` advances the counter inside the caller's transaction: the numbers are gapless, but
the counter's row stays locked until that transaction ends, so concurrent callers queue.
``reserve_now`` is for numbers issued one at a time under concurrency: on PostgreSQL it
advances the counter in one autocommit statement on a connection of its own, so the row is
locked for microseconds; a caller that later rolls back leaves a gap. SQLite has one writer at
a time anyway, and a second connection would wait on the caller's own write lock, so there it
is ``reserve``.

A backup writes each sequence's position as its counter's value (:func:`positions`), and a
restore moves the sequence on from it (:func:`continue_after_restore`): a backup restores on
either database without issuing a number twice.
"""

from __future__ import annotations

from collections.abc import Sequence as Numbers

from sqlalchemy import BigInteger, Connection, Sequence, String, func, insert, select, text, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from mutua.db import Base, transaction_memo


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


# The counters that are sequences on PostgreSQL (created by migration 0022, or with the tables).
# Each ends where its numbers' digits do (P and 10 digits, M, CL and TS and 9): past it,
# nextval fails rather than a number being cut short.
SEQUENCES = {name: Sequence(f"{name}_numbers", maxvalue=10**digits - 1, metadata=Base.metadata)
             for name, digits in (("policy", 10), ("member", 9), ("claim", 9), ("complaint", 9))}


def reserve(db: Session, name: str, count: int = 1) -> Numbers[int]:
    """Reserve ``count`` numbers from the named counter; returns them, in increasing order."""
    if count <= 0:
        return range(0)
    if sequenced(db, name):
        return _drawn(db, name, count)
    stmt = _advance(name, count)
    last = db.execute(stmt).scalar()
    if last is None:
        try:
            with db.begin_nested():
                db.execute(insert(Counter).values(name=name, value=0))
        except IntegrityError:
            pass  # created by a concurrent transaction
        last = db.execute(stmt).scalar()
    _held(db)[name] = True  # its row stays locked until the transaction ends
    return range(last - count + 1, last + 1)


def reserve_now(db: Session, name: str, count: int = 1) -> Numbers[int]:
    """Reserve numbers that no other transaction waits for; gaps are possible (PostgreSQL)."""
    if sequenced(db, name):
        return _drawn(db, name, count)
    bind = db.get_bind()
    if bind.dialect.name == "sqlite" or name in _held(db):
        # A transaction that has already advanced this counter (numbers for a bulk enrolment)
        # holds its row: another connection would wait on it for ever, so it takes the next
        # numbers itself.
        return reserve(db, name, count)
    if count > 0:
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            last = conn.execute(_advance(name, count)).scalar()
        if last is not None:
            return range(last - count + 1, last + 1)
    with bind.connect() as conn:  # the counter's first use: create its row
        own = Session(bind=conn)
        try:
            numbers = reserve(own, name, count)
            own.commit()
        finally:
            own.close()
    return numbers


def sequenced(db: Session | Connection, name: str) -> bool:
    """Whether this counter's numbers come from a sequence here (PostgreSQL)."""
    return name in SEQUENCES and db.get_bind().dialect.name == "postgresql"


def _drawn(db: Session, name: str, count: int) -> Numbers[int]:
    if count == 1:
        return [db.connection().execute(_NEXT[name]).scalar_one()]
    return sorted(db.execute(_BLOCK[name], {"n": count}).scalar_one())


# Built once: an enrolment asks for one number, and a statement kept keeps its cache key.
_NEXT = {name: select(seq.next_value()) for name, seq in SEQUENCES.items()}
_BLOCK = {name: text(f"SELECT array_agg(nextval('{seq.name}')) FROM generate_series(1, :n)")
          for name, seq in SEQUENCES.items()}

_HELD = "counters_held"


def _held(db: Session) -> dict[str, bool]:
    """The counters whose row this session's open transaction has advanced, and so locks."""
    return transaction_memo(db, _HELD)


def _advance(name: str, count: int):
    return (update(Counter).where(Counter.name == name)
            .values(value=Counter.value + count).returning(Counter.value))


def positions(conn: Connection):
    """SELECT of every counter as (name, value), a sequence's value being the last number it
    issued (or its counter's, if larger): what a backup writes as the ``counters`` table."""
    if conn.dialect.name != "postgresql":
        return select(Counter.name, Counter.value).order_by(Counter.name)
    issued = text(" UNION ALL ".join(
        f"SELECT '{name}' AS name, CASE WHEN is_called THEN last_value ELSE 0 END AS value"
        f" FROM {seq.name}" for name, seq in SEQUENCES.items())
    ).columns(name=String(), value=BigInteger()).subquery()
    rows = union_all(select(Counter.name, Counter.value), select(issued)).subquery()
    return (select(rows.c.name, func.max(rows.c.value).label("value"))
            .group_by(rows.c.name).order_by(rows.c.name))


def continue_after_restore(conn: Connection) -> None:
    """PostgreSQL: each sequence goes on from its counter's restored value (from 1 when the
    backup issued none)."""
    if conn.dialect.name != "postgresql":
        return
    for name, seq in SEQUENCES.items():
        value = conn.scalar(select(Counter.value).where(Counter.name == name)) or 0
        conn.execute(text("SELECT setval(:seq, :value, :called)"),
                     {"seq": seq.name, "value": max(value, 1), "called": value > 0})
