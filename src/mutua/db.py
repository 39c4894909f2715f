"""Engine, sessions, the declarative base and the one money column type.

Services never commit: the edge (a route, a CLI command) opens one unit of work per
use case with :func:`unit_of_work` or the ``DbSession`` dependency and commits once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import date as date_type
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from pathlib import Path

import numpy as np
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    exc,
    insert,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from mutua.errors import Conflict
from mutua.money import from_fen, to_fen
from mutua.settings import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# A 64-bit surrogate key for tables that grow with members (SQLite needs INTEGER to autoincrement).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def BoundedText(length: int):  # noqa: N802 - a column type, named like one
    """Free text of at most ``length`` characters: VARCHAR(length) on PostgreSQL, which
    refuses longer; TEXT on SQLite, which stores any length under either name (there the
    request schemas and services are what refuse)."""
    return String(length).with_variant(Text(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Ready to shard by project (Citus-style distribution, docs/operations.md "Beyond one
# server"). A table that grows with the members opts in as large: it carries project_id,
# not null, inside its primary key or a unique key (a distributed table's keys must hold the
# distribution column). Catalogue tables are small reference tables, copied whole to every
# node: never large, and no key of theirs points at a large table.
# tests/unit/test_schema_rules.py holds the models to these rules.
def large_table(**info) -> dict:
    """``__table_args__`` entry of a table that grows with members."""
    return {"info": {"large": True, **info}}


def catalogue_table() -> dict:
    """``__table_args__`` entry of a small reference table (the catalogue)."""
    return {"info": {"catalogue": True}}


# Large tables that do not meet the rules yet, and why: {table: reason}. None today (the
# last four took the mutual-wide project, catalog/mutual.py, in migration 0019). The rules
# test fails when a listed table is fixed and still listed, or when any other large table
# breaks a rule.
NOT_YET_SHARDABLE: dict[str, str] = {}


class Money(TypeDecorator):
    """Decimal yuan in Python, integer fen (BIGINT) in the database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, not float")
        return to_fen(Decimal(value))

    def process_result_value(self, value: int | None, dialect) -> Decimal | None:
        return None if value is None else from_fen(value)


class UTCDateTime(TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with the settings each backend needs to be safe under concurrency."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A pool that keeps as many connections as the request threads one worker runs at once
    # (anyio's 40): with the default 5 (+10 overflow), and still with 20, a burst of clients
    # landing unevenly on the workers kept opening and closing overflow connections, and the
    # trivial endpoint's p99 reached seconds. Connections open only when needed; the overflow
    # covers a request that briefly holds two (numbering.reserve_now).
    if kwargs.get("poolclass") is None:
        kwargs.setdefault("pool_size", 40)
        kwargs.setdefault("max_overflow", 40)
    engine = create_engine(url, **kwargs)
    ping_when_idle(engine, seconds=PING_AFTER_IDLE_SECONDS)
    return engine


# A pooled connection used this recently is not pinged before its next use (HikariCP's
# aliveBypassWindowMs, 500 ms by default, is the same rule). Under load a connection comes
# back within milliseconds, and the ping was one of an enrolment's seven round trips
# (about 60 us of the app's CPU and 100 us in all, measured on two cores).
PING_AFTER_IDLE_SECONDS = 0.5
_RETURNED_AT = "mutua.returned_at"


def ping_when_idle(engine: Engine, *, seconds: float) -> None:
    """Ping a pooled connection on checkout when it has been idle ``seconds`` or more, and
    replace it (with every connection pooled before it) when the database has gone.

    SQLAlchemy's pool_pre_ping pings on every checkout. A connection that was working half
    a second ago can still have lost its server since: its next request then fails once,
    and the pool is refreshed as after a failed ping. A database that restarts takes longer
    than that to come back, so a request after the restart finds every connection idle
    long enough to be pinged.
    """
    dialect = engine.dialect

    def fresh(_dbapi_connection, record) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    def ping_if_idle(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get(_RETURNED_AT, float("-inf")) < seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as e:
            if dialect.is_disconnect(e, dbapi_connection, None):
                raise exc.InvalidatePoolError() from e  # the pool reconnects and goes on
            raise

    event.listen(engine, "connect", fresh)
    event.listen(engine, "checkin", fresh)
    event.listen(engine, "checkout", ping_if_idle)


# How far a PostgreSQL standby is behind its primary, in seconds: none when it has replayed
# all it has received (an idle primary sends nothing, so the time of the last replayed commit
# alone would look old); else the age of the last commit it replayed (an upper bound). On a
# primary, none.
REPLICA_LAG = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END")


def replica_lag_seconds(session: Session) -> float:
    return float(session.execute(REPLICA_LAG).scalar())


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def is_sqlite(bind) -> bool:
    return bind.dialect.name == "sqlite"


@lru_cache
def engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    return engine_for(get_settings().database_url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = session_factory(engine or get_engine())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@dataclass(frozen=True)
class OneRow:
    """One row to INSERT with every column named: a write that another statement can carry
    (ledger.service.post's ``alongside``), or that :meth:`statement` sends alone.

    ``shape`` (the table and its columns named) is all a prebuilt statement for the row
    depends on; the values are its parameters. Named in full because a row sent inside
    another statement gets no Python-side column defaults.
    """

    table: Table
    values: Mapping[str, object]

    @property
    def shape(self) -> tuple[Table, tuple[str, ...]]:
        return self.table, tuple(self.values)

    def statement(self):
        return insert(self.table).values(**self.values)


def with_column_defaults(table: Table, values: Mapping[str, object], *,
                         leave: Iterable[str] = ()) -> dict:
    """``values`` with each column of ``table`` they leave out as an ORM flush would fill
    it: the column's Python-side default (called when it is a function), else NULL; the
    columns in ``leave`` stay out. For a :class:`OneRow`, which names every column."""
    filled = dict(values)
    for column in table.c:
        if column.key in filled or column.key in leave:
            continue
        default = column.default
        filled[column.key] = (None if default is None else
                              default.arg(None) if default.is_callable else default.arg)
    return filled


def transaction_memo(db: Session, key: str) -> dict:
    """A dict kept in ``Session.info`` under ``key`` for as long as the session's current
    transaction lasts: what a unit of work has learnt that holds only until it commits or
    rolls back. Outside a transaction, an empty dict that is not kept."""
    tx = db.get_transaction()
    if tx is None:
        return {}
    kept = db.info.get(key)
    if kept is None or kept[0] is not tx:
        kept = db.info[key] = (tx, {})
    return kept[1]


@contextmanager
def unique_or_conflict(message: str) -> Iterator[None]:
    """Turn a unique-key clash inside the block into Conflict(message) (HTTP 409).

    For a check-then-insert that two requests race: both pass the check, the database's
    unique key lets one insert through, and the other's flush fails here. Its transaction is
    then rolled back whole by the caller's unit of work, so nothing of it is left behind.
    """
    from sqlalchemy.exc import IntegrityError

    try:
        yield
    except IntegrityError as exc:
        if not _is_unique_violation(exc):
            raise
        raise Conflict(message) from None


def _is_unique_violation(exc) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)  # psycopg: 23505 unique_violation
    return sqlstate == "23505" or "UNIQUE constraint failed" in str(exc.orig)


def load_all_models() -> None:
    """Import every domain's tables so Base.metadata is complete."""
    import mutua.models  # noqa: F401


# --- bulk paths for imports and the demo (hundreds of thousands of rows) ---------------------

SQLITE_BULK_CACHE_KIB = 262_144  # 256 MiB of page cache while columns are written


def batched(items: Iterable, size: int) -> Iterator[list]:
    """Items in lists of ``size`` (the last one shorter): the one way bulk paths chunk, so
    a statement never carries more rows or bound parameters than a backend takes well.

    >>> list(batched(range(7), 3)), list(batched([], 3))
    ([[0, 1, 2], [3, 4, 5], [6]], [])
    """
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def copy_rows(db: Session, table: str, names: list[str], rows,
              same: dict[str, object] | None = None) -> int:
    """Write plain tuples under the ORM, in the session's transaction; returns the row count.

    COPY on PostgreSQL; executemany of 50,000 rows a statement on SQLite. Values must be in
    database form already: money as integer fen, dates as ``date``, timestamps aware.
    ``same`` names the columns every row shares and their value, formatted once rather than
    once a row (a bulk enrolment writes a million rows of one project, product and day).
    """
    same = same or {}
    db.flush()  # rows added through the ORM go first (foreign keys may point at them)
    if db.connection().dialect.name == "postgresql":
        tail = "".join("\t" + _copy_text(v) for v in same.values())
        return _copy(db, table, [*names, *same], _copy_lines(rows, tail))
    shared = tuple(_sqlite_value(v) for v in same.values())
    return _insert_many(db, table, [*names, *same],
                        (tuple(_sqlite_value(v) for v in row) + shared for row in rows))


def copy_columns(db: Session, table: str, columns: dict[str, np.ndarray]) -> int:
    """Write numpy columns of equal length, formatted a column at a time (far fewer Python
    calls than a row at a time); datetime64 columns are UTC, None and NaT are NULL.
    Otherwise as :func:`copy_rows`, whose writers it shares."""
    names = list(columns)
    if not names or not len(columns[names[0]]):
        return 0
    db.flush()
    if db.connection().dialect.name == "postgresql":
        texts = [_copy_column(np.asarray(columns[k])) for k in names]
        return _copy(db, table, names, map("\t".join, zip(*texts, strict=True)))
    # A bigger page cache for this connection keeps index pages of a large batch in memory.
    raw = db.connection().connection.dbapi_connection
    raw.execute(f"PRAGMA cache_size=-{SQLITE_BULK_CACHE_KIB}")
    values = [_sqlite_column(np.asarray(columns[k])) for k in names]
    return _insert_many(db, table, names, zip(*values, strict=True))


def _copy(db: Session, table: str, names: list[str], lines: Iterable[str]) -> int:
    """COPY text lines into ``table``, 10,000 lines a write."""
    raw = db.connection().connection.dbapi_connection
    n = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        for block in batched(lines, 10_000):
            copy.write("\n".join(block) + "\n")
            n += len(block)
    return n


def _insert_many(db: Session, table: str, names: list[str], rows: Iterable[tuple]) -> int:
    """executemany of plain tuples, 50,000 rows a statement (SQLite)."""
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    cur = db.connection().connection.dbapi_connection.cursor()
    n = 0
    for batch in batched(rows, 50_000):
        cur.executemany(sql, batch)
        n += len(batch)
    return n


def _copy_column(col: np.ndarray) -> list[str]:
    """A column as COPY text fields: NULL is \\N, text escaped, timestamps in UTC."""
    if np.issubdtype(col.dtype, np.datetime64):
        utc = "+00"  # named: a literal second argument of an add() reads as a rule to pybabel
        out = np.char.add(np.datetime_as_string(col, unit="us").astype(str), utc).tolist()
        for i in np.flatnonzero(np.isnat(col)):
            out[i] = "\\N"
        return out
    if col.dtype == bool:
        return np.where(col, "t", "f").tolist()
    if col.dtype.kind in "iuf":
        return col.astype(str).tolist()
    cache: dict = {}
    out = []
    for v in col.tolist():
        text = cache.get(v)
        if text is None:
            text = "\\N" if v is None else str(v).translate(_COPY_ESCAPES)
            cache[v] = text
        out.append(text)
    return out


def _sqlite_column(col: np.ndarray) -> list:
    """A column as SQLite values; timestamps as SQLAlchemy stores them there
    ("YYYY-MM-DD HH:MM:SS.ffffff")."""
    if not np.issubdtype(col.dtype, np.datetime64):
        return col.tolist()
    text = np.datetime_as_string(col, unit="us").astype("S26")
    chars = text.view(np.uint8).reshape(len(text), 26)
    chars[:, 10] = ord(" ")
    out = chars.view("S26").ravel().astype(str).tolist()
    for i in np.flatnonzero(np.isnat(col)):
        out[i] = None
    return out


# COPY's text format: tab between fields, a line per row, \N for NULL, and these escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_lines(rows: Iterable[tuple], tail: str) -> Iterator[str]:
    r"""Rows as COPY text lines, each ending in ``tail``, formatted a column of 10,000 rows at
    a time: a column of one type goes through ``str`` (or as it is) at the speed of C, where
    a call per value was the first cost of a bulk import's own CPU.

    >>> list(_copy_lines([(1, "a", None), (2, "b\tc", date_type(2026, 1, 2))], "\tz"))
    ['1\ta\t\\N\tz', '2\tb\\tc\t2026-01-02\tz']
    """
    for batch in batched(rows, 10_000):
        columns = [_copy_column_text(column) for column in zip(*batch, strict=True)]
        for fields in zip(*columns, strict=True):
            yield "\t".join(fields) + tail


# Types whose str() is already COPY's text (digits, ISO dates, timestamps with their zone).
_PLAIN = {int, Decimal, date_type, datetime, np.int64, np.int32}
_ESCAPED = ("\\", "\t", "\n", "\r")


def _needs_escapes(text: str) -> bool:
    return any(c in text for c in _ESCAPED)


def _copy_column_text(column: tuple) -> list[str]:
    """One column's values in COPY's text format (as :func:`_copy_text`, faster)."""
    kinds = set(map(type, column))
    nulls = type(None) in kinds
    kinds.discard(type(None))
    kind = next(iter(kinds)) if len(kinds) == 1 else None
    if kind is str and not _needs_escapes("".join(v for v in column if v is not None)):
        return ["\\N" if v is None else v for v in column] if nulls else list(column)
    if kind in _PLAIN:
        return ["\\N" if v is None else str(v) for v in column] if nulls else list(
            map(str, column))
    return list(map(_copy_text, column))


def _copy_text(v) -> str:
    r"""One value in COPY's text format (formatting rows here is several times faster than
    the driver's row by row writer, which showed as the first cost of a bulk import).

    >>> [_copy_text(v) for v in (None, "a\tb\\", True, 7, Decimal("1.50"), date_type(2026, 1, 2))]
    ['\\N', 'a\\tb\\\\', 't', '7', '1.50', '2026-01-02']
    """
    if v is None:
        return "\\N"
    if isinstance(v, str):
        return v.translate(_COPY_ESCAPES)
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, (int, Decimal, date_type, np.integer)):
        return str(v)  # a datetime is a date: '2026-01-02 03:04:05+00:00' keeps its zone
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    raise TypeError(f"copy_rows cannot write a {type(v).__name__}")


def _sqlite_value(v):
    """The text SQLAlchemy itself would store in SQLite for dates, timestamps and decimals."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date_type):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def reserve_ids(db: Session, table: str, count: int) -> list[int]:
    """Primary keys for ``count`` rows about to be written with :func:`copy_rows`.

    PostgreSQL draws them from the table's sequence; SQLite continues after the largest id,
    which is safe because the calling transaction has already written (SQLite then holds
    the database's one write lock until it commits).
    """
    if count <= 0:
        return []
    if db.get_bind().dialect.name == "postgresql":
        # The sequence is named once (MATERIALIZED, or the planner folds the lookup back into
        # every row) and the ids come back as one array: 0.05 s per 100,000 ids, where a
        # lookup an id cost 0.28 s and a row an id 0.17 s.
        return list(db.scalar(text(
            f"WITH named AS MATERIALIZED (SELECT pg_get_serial_sequence('{table}', 'id')::regclass"
            " AS seq) SELECT array_agg(nextval(seq)) FROM named, generate_series(1, :n)"),
            {"n": count}))
    last = db.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))
    return list(range(last + 1, last + count + 1))


@contextmanager
def by_index(db: Session) -> Iterator[None]:
    """Look rows up by their index, whatever PostgreSQL believes of the table's size: for
    lookups into a table that a bulk write is growing within its transaction.

    The driver prepares a statement it has run five times, and PostgreSQL then keeps one
    generic plan. Made while ``members`` was still empty it scans the table, and a lookup of
    5,000 ID numbers then compares each against every row the import has written since
    (17 s a lookup at 200,000 rows, measured). Planning each lookup afresh finds the index
    but costs about 40 ms a lookup of 5,000 values (the planner weighs every value); so the
    lookups are planned once, generically, with sequential scans priced out. Only around
    the lookups: the session's other statements keep PostgreSQL's own choice.
    """
    if db.get_bind().dialect.name != "postgresql":
        yield
        return
    db.execute(text("SET LOCAL enable_seqscan = off; SET LOCAL plan_cache_mode = force_generic_plan"))
    yield  # on an error the transaction rolls back, and the SET LOCALs with it
    db.execute(text("SET LOCAL enable_seqscan = DEFAULT; SET LOCAL plan_cache_mode = DEFAULT"))


def one_of(db: Session, column, values: list):
    """``column IN values`` for thousands of values: one array parameter on PostgreSQL.

    PostgreSQL plans ``= ANY(array)`` like IN, and the driver need not parse a statement
    with thousands of placeholders.
    """
    if db.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    from sqlalchemy import any_, bindparam
    from sqlalchemy.dialects.postgresql import ARRAY

    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


def page_total(db: Session, rows: list, *, limit: int, offset: int, count,
               params: dict | None = None) -> int:
    """The total behind a page of ``rows``, counted only when the page cannot tell it.

    A page shorter than its limit (and not empty past the first) is the last one, so the
    total is ``offset + len(rows)`` with no COUNT query: most members hold a page of policies
    or fewer, and this saves their list a round trip. ``count`` is the SELECT COUNT to run
    otherwise, with its bound ``params`` if it was built once with ``bindparam``.
    """
    if len(rows) < limit and (rows or offset == 0):
        return offset + len(rows)
    return int(db.scalar(count, params) or 0)
