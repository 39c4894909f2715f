"""Business numbers (member, policy, claim numbers) from counters that are safe under concurrency.

A counter is advanced with one ``UPDATE ... RETURNING``, which both SQLite (3.35+) and
PostgreSQL run atomically, so two transactions never get the same block.

``reserve`` advances the counter inside the caller's transaction: the numbers are gapless, but
the counter's row stays locked until that transaction ends, so concurrent callers queue.
``reserve_now`` is for numbers issued one at a time under concurrency (a policy, a claim, a
member registered at the desk): on PostgreSQL it advances the counter in one autocommit
statement on a connection of its own, so the row is locked for microseconds and the number
costs one round trip (a transaction of its own cost three: BEGIN, UPDATE, COMMIT); a caller
that later rolls back leaves a gap, as a database sequence would. SQLite has one writer at a
time anyway, and a second connection would wait on the caller's own write lock, so there it is ``reserve``.
"""

from __future__ import annotations

from sqlalchemy import String, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from mutua.db import Base


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def reserve(db: Session, name: str, count: int = 1) -> range:
    """Reserve ``count`` consecutive numbers from the named counter; returns them."""
    if count <= 0:
        return range(0)
    stmt = _advance(name, count)
    last = db.execute(stmt).scalar()
    if last is None:
        try:
            with db.begin_nested():
                db.execute(insert(Counter).values(name=name, value=0))
        except IntegrityError:
            pass  # created by a concurrent transaction
        last = db.execute(stmt).scalar()
    db.info[_HELD] = (db.get_transaction(), _held(db) | {name})
    return range(last - count + 1, last + 1)


_HELD = "counters_held"  # Session.info: (transaction, counters whose row it has locked)


def _held(db: Session) -> frozenset[str]:
    """The counters whose row this session's open transaction has advanced, and so locks."""
    tx, names = db.info.get(_HELD, (None, frozenset()))
    return names if tx is not None and tx is db.get_transaction() else frozenset()


def _advance(name: str, count: int):
    return (update(Counter).where(Counter.name == name)
            .values(value=Counter.value + count).returning(Counter.value))


def reserve_now(db: Session, name: str, count: int = 1) -> range:
    """Reserve numbers in a transaction of their own (PostgreSQL); gaps are possible."""
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


def current(db: Session, name: str) -> int:
    return db.scalar(select(Counter.value).where(Counter.name == name)) or 0
