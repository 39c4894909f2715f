"""The audit log by month on PostgreSQL: one partition a month of ``at``, and a default one.

``audit_events`` is the largest table (every write and every audited read: tens of millions
of rows a year) and is only ever appended to, so PostgreSQL holds it as a table partitioned
by RANGE on ``at``, one partition a calendar month in Asia/Shanghai time (the mutual's
books and the law count calendar months and years there). What it buys:

- a closed year leaves the live table in one statement a month (:func:`archive_year`
  detaches it) instead of a DELETE of millions of rows that the append-only trigger refuses
  anyway, and without the bloat and vacuum such a DELETE leaves behind;
- the staff audit pages' newest-first reads and inserts touch the current month's small
  indexes rather than one index over every year.

The key: PostgreSQL wants the partition column in every unique key, so the table's primary
key is ``(id, at)``. ``id`` still comes from the one sequence and stays unique by itself;
the model keeps ``id`` as its identity (SQLite, which has no partitioning, keeps the plain
table and its single-column key, and an ORM lookup by id is the same on both).

Partitions are made ahead: :func:`prepare_ahead` creates the current month's and the next
``MONTHS_AHEAD`` months' (idempotent), run daily by the ``audit-partitions`` periodic task
(jobs/queue.py) and by the migration. A write in a month that has no partition yet (the
worker stopped for months, a clock far off) still succeeds: it lands in the DEFAULT
partition. An audit event is written in the same transaction as the business write it
records, so a missing partition must never fail a claim or a sign-in; creating ahead keeps
the default empty so every normal month can be archived on its own. A month whose rows
already sit in the default is not created (PostgreSQL would refuse: the default would hold
rows of the new range); :func:`prepare_ahead` reports it, the rows stay readable there,
and :func:`empty_default` moves them into partitions of their own when the operator asks.

SQLite: every function here is a no-op that returns nothing; the table stays plain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Table, text
from sqlalchemy.engine import Connection

from mutua.errors import ValidationFailed

TABLE = "audit_events"
DEFAULT = f"{TABLE}_default"
SEQUENCE = f"{TABLE}_id_seq"
MONTHS_AHEAD = 3  # the daily task can miss three months before the default catches a write
ZONE = "Asia/Shanghai"
Indexes = list[tuple[str, list[str]]]  # (name, columns) of each index but the primary key
_PARTITION_NAME = re.compile(rf"^{TABLE}_(\d{{4}})_(\d{{2}})$")


@dataclass
class Upkeep:
    """What :func:`prepare_ahead` did: partitions created, and months left in the default."""

    created: list[str] = field(default_factory=list)
    in_default: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"created": self.created, "in_default": self.in_default}


def is_partition_table(name: str | None) -> bool:
    """Whether a table name is one of the audit log's partitions (attached or detached):
    they are not in the models, and schema comparison leaves them alone."""
    return bool(name) and (name == DEFAULT or bool(_PARTITION_NAME.match(name)))


def partition_name(month: date) -> str:
    return f"{TABLE}_{month.year:04d}_{month.month:02d}"


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.scalar(text(
        "SELECT c.relkind = 'p' FROM pg_class c WHERE c.oid = to_regclass(:t)"), {"t": TABLE}))


def attached(conn: Connection) -> list[str]:
    """The names of the partitions attached now, oldest month first (the default last)."""
    if not is_partitioned(conn):
        return []
    names = conn.scalars(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t)"), {"t": TABLE}).all()
    return sorted(n for n in names if n != DEFAULT) + [n for n in names if n == DEFAULT]


def partition(conn: Connection, *, today: date, indexes: Indexes) -> None:
    """Turn the plain ``audit_events`` into the partitioned one, keeping every row, its id
    and the id sequence: a partition for each month that has rows, the months ahead and the
    default, then the copy, the swap, the key and ``indexes`` (built once, after the copy;
    a migration names its own, a new schema takes the model's: :func:`model_indexes`).
    The append-only trigger goes with the old table: the caller puts it back
    (``ops.hardening.install``, which sits above this layer), as migration 0021 does."""
    if conn.dialect.name != "postgresql" or is_partitioned(conn):
        return
    new = f"{TABLE}_partitioned"
    conn.execute(text(f"CREATE TABLE {new} (LIKE {TABLE} INCLUDING DEFAULTS) "
                      "PARTITION BY RANGE (at)"))
    for month in sorted(set(_months_held(conn, TABLE)) | set(_months_from(today))):
        _create_month(conn, new, month)
    conn.execute(text(f"CREATE TABLE {DEFAULT} PARTITION OF {new} DEFAULT"))
    _swap(conn, new)
    conn.execute(text(f"ALTER TABLE {TABLE} ADD CONSTRAINT pk_{TABLE} PRIMARY KEY (id, at)"))
    _create_indexes(conn, indexes)


def unpartition(conn: Connection, *, indexes: Indexes) -> None:
    """The reverse of :func:`partition` (a downgrade): one plain table keyed by ``id``.
    Detached (archived) months are not brought back: they are the operator's to restore."""
    if not is_partitioned(conn):
        return
    new = f"{TABLE}_plain"
    conn.execute(text(f"CREATE TABLE {new} (LIKE {TABLE} INCLUDING DEFAULTS)"))
    _swap(conn, new)
    conn.execute(text(f"ALTER TABLE {TABLE} ADD CONSTRAINT pk_{TABLE} PRIMARY KEY (id)"))
    _create_indexes(conn, indexes)


def prepare_ahead(conn: Connection, *, today: date, months: int = MONTHS_AHEAD) -> Upkeep:
    """Create the partitions of this month and the next ``months`` that are missing."""
    done = Upkeep()
    if not is_partitioned(conn):
        return done
    present = set(attached(conn))
    for month in _months_from(today, months):
        name = partition_name(month)
        if name in present:
            continue
        if _default_holds(conn, month):
            done.in_default.append(name)
            continue
        _create_month(conn, TABLE, month)
        done.created.append(name)
    return done


def empty_default(conn: Connection) -> list[str]:
    """Give the months whose rows sit in the default partition (a restore into a new
    database, a task that stopped for months) their own partitions, and move the rows there;
    the partitions created. The default is swapped for an empty one and the old one copied
    and dropped, so no row is deleted (the append-only trigger stays in force). It holds the
    table exclusively while it copies: run it when the mutual is quiet."""
    if not is_partitioned(conn):
        return []
    months = _months_held(conn, DEFAULT)
    if not months:
        return []
    conn.execute(text(f"ALTER TABLE {TABLE} DETACH PARTITION {DEFAULT}"))
    conn.execute(text(f"ALTER TABLE {DEFAULT} RENAME TO {DEFAULT}_emptied"))
    conn.execute(text(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT"))
    created = []
    for month in sorted(months):
        _create_month(conn, TABLE, month)
        created.append(partition_name(month))
    conn.execute(text(f"INSERT INTO {TABLE} SELECT * FROM {DEFAULT}_emptied"))
    conn.execute(text(f"DROP TABLE {DEFAULT}_emptied"))
    return created


def archive_year(conn: Connection, *, year: int, today: date) -> list[str]:
    """Detach the twelve months of a closed ``year`` from the live table; their tables stay
    in the database, under the same names, until the operator has dumped them
    (``pg_dump -t 'audit_events_2016_*'``) and drops them. Detaching rather than dropping
    keeps the decision to destroy the audit trail of a year with a person (docs/operations.md
    "Archiving a year of the audit log"); it is idempotent (a second run finds nothing)."""
    if not 2000 <= year < today.year:
        # a closed year: the current one still takes events
        raise ValidationFailed("year", "must be between %(low)s and %(high)s",
                               low=2000, high=today.year - 1)
    if not is_partitioned(conn):
        return []
    wanted = {partition_name(date(year, m, 1)) for m in range(1, 13)}
    names = [n for n in attached(conn) if n in wanted]
    for name in names:
        conn.execute(text(f"ALTER TABLE {TABLE} DETACH PARTITION {name}"))
    return names


def _months_from(today: date, months: int = MONTHS_AHEAD) -> list[date]:
    month, out = today.replace(day=1), []
    for _ in range(months + 1):
        out.append(month)
        month = next_month(month)
    return out


def _months_held(conn: Connection, table: str) -> list[date]:
    """The first days of the months (in Shanghai) that ``table`` holds rows of."""
    return conn.scalars(text(
        f"SELECT DISTINCT date_trunc('month', at AT TIME ZONE '{ZONE}')::date FROM {table}")
    ).all()


def _create_month(conn: Connection, parent: str, month: date) -> None:
    start, end = month.isoformat(), next_month(month).isoformat()
    conn.execute(text(
        f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {parent} "
        f"FOR VALUES FROM ('{start} 00:00:00 {ZONE}') TO ('{end} 00:00:00 {ZONE}')"))


def _default_holds(conn: Connection, month: date) -> bool:
    return bool(conn.scalar(text(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE at >= CAST(:start AS timestamp) "
        f"AT TIME ZONE '{ZONE}' AND at < CAST(:end AS timestamp) AT TIME ZONE '{ZONE}')"),
        {"start": month.isoformat(), "end": next_month(month).isoformat()}))


def _swap(conn: Connection, new: str) -> None:
    """Copy every row into ``new``, which takes the table's name, id sequence and place."""
    conn.execute(text(f"INSERT INTO {new} SELECT * FROM {TABLE}"))
    conn.execute(text(f"ALTER SEQUENCE {SEQUENCE} OWNED BY NONE"))
    conn.execute(text(f"DROP TABLE {TABLE}"))
    conn.execute(text(f"ALTER TABLE {new} RENAME TO {TABLE}"))
    conn.execute(text(f"ALTER SEQUENCE {SEQUENCE} OWNED BY {TABLE}.id"))


def model_indexes(table: Table) -> Indexes:
    return [(index.name, [c.name for c in index.columns]) for index in table.indexes]


def _create_indexes(conn: Connection, indexes: Indexes) -> None:
    """On a partitioned table each index is made on every partition, and on every
    partition created later."""
    for name, columns in indexes:
        conn.execute(text(f"CREATE INDEX {name} ON {TABLE} ({', '.join(columns)})"))
