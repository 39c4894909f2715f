"""Logical backup and restore of every table, portable between SQLite and PostgreSQL.

A backup (备份) is one gzip-compressed JSON Lines file:

    {"format": "mutua-backup", "version": 1, "dialect": "postgresql", "revision": "0001", ...}
    {"table": "projects", "columns": ["id", "code", ...]}
    [1, "SZ-ACC", ...]                      one JSON array per row, in primary-key order
    {"end": "projects", "rows": 1}
    ...
    {"complete": true, "tables": 42, "rows": 123456}

Values are written by column kind, so a file made from SQLite restores into PostgreSQL and back:
money as integer fen, decimals as strings, timestamps as ISO 8601 with their UTC offset.

- :func:`dump` reads one consistent snapshot (a REPEATABLE READ transaction on PostgreSQL,
  one read transaction on SQLite) and streams it in chunks; the file is written beside its
  final name and renamed only when complete, so a killed backup never looks like a good one.
- :func:`load` writes every row in the caller's single transaction: a restore that fails half
  way (a truncated file, a schema mismatch) leaves the database as it was. It refuses a
  database that already holds data unless ``replace=True``.

Both take a SQLAlchemy ``Connection``; the edge (``mutua backup`` / ``mutua restore``) opens and
commits the transaction.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    LargeBinary,
    Numeric,
    Table,
    Time,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection

from mutua import numbering
from mutua.db import Base, Money, load_all_models
from mutua.errors import Conflict, ValidationFailed
from mutua.money import from_fen, to_fen
from mutua.numbering import Counter
from mutua.ops import hardening

FORMAT = "mutua-backup"
VERSION = 1
CHUNK = 5000


@dataclass
class Summary:
    """What a backup or restore moved: rows per table, and the file's SHA-256."""

    path: str
    rows: dict[str, int] = field(default_factory=dict)
    sha256: str = ""
    revision: str | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def to_dict(self) -> dict:
        return {"path": self.path, "tables": len(self.rows), "rows": self.total_rows,
                "sha256": self.sha256, "revision": self.revision, "per_table": self.rows}


def tables() -> list[Table]:
    """Every table of the schema, parents before children."""
    load_all_models()
    return list(Base.metadata.sorted_tables)


# --- values by column kind ---------------------------------------------------------------

Codec = tuple[Callable[[object], object], Callable[[object], object]]


def _codec(column) -> Codec:
    t = column.type
    if isinstance(t, Money):
        return to_fen, from_fen
    impl = t.impl if hasattr(t, "impl") and not isinstance(t, Money) else t
    if isinstance(impl, DateTime):
        return _iso, datetime.fromisoformat
    if isinstance(impl, Date):
        return _iso, date.fromisoformat
    if isinstance(impl, Time):
        return _iso, time.fromisoformat
    if isinstance(impl, Numeric) and not isinstance(impl, Float):
        return str, Decimal
    if isinstance(impl, LargeBinary):
        return (lambda b: base64.b64encode(bytes(b)).decode("ascii"), base64.b64decode)
    if isinstance(impl, JSON):
        return _same, _same
    return _same, _same


def _same(value):
    return value


def _iso(value) -> str:
    return value.isoformat()


def _encoder(table: Table) -> Callable[[tuple], list]:
    encoders = [_codec(c)[0] for c in table.columns]
    return lambda row: [None if v is None else enc(v) for enc, v in zip(encoders, row, strict=True)]


def _decoder(table: Table, names: list[str]) -> Callable[[list], dict]:
    decoders = [_codec(table.c[n])[1] for n in names]
    return lambda row: {n: None if v is None else dec(v)
                        for n, dec, v in zip(names, decoders, row, strict=True)}


# --- backup ------------------------------------------------------------------------------


def begin_snapshot(conn: Connection) -> None:
    """Make every following read in ``conn`` see one consistent state of the database."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")  # pysqlite otherwise reads each SELECT on its own
    else:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def dump(conn: Connection, path: str | Path, *, on_table: Callable[[str, int], None] | None = None,
         ) -> Summary:
    """Write every table to ``path`` (gzip JSON Lines) from one snapshot; return the summary.

    Call :func:`begin_snapshot` first on a fresh connection (``mutua backup`` does).
    """
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    summary = Summary(path=str(path), revision=_revision(conn))
    with gzip.open(partial, "wt", encoding="utf-8", compresslevel=6) as out:
        _line(out, {"format": FORMAT, "version": VERSION, "dialect": conn.dialect.name,
                    "revision": summary.revision, "made_at": datetime.now().astimezone().isoformat()})
        for table in tables():
            n = _dump_table(conn, table, out)
            summary.rows[table.name] = n
            if on_table:
                on_table(table.name, n)
        _line(out, {"complete": True, "tables": len(summary.rows), "rows": summary.total_rows})
    os.replace(partial, path)
    summary.sha256 = file_sha256(path)
    return summary


def _dump_table(conn: Connection, table: Table, out) -> int:
    _line(out, {"table": table.name, "columns": [c.name for c in table.columns]})
    encode = _encoder(table)
    order = list(table.primary_key.columns) or list(table.columns)
    rows = select(table).order_by(*order)
    if table is Counter.__table__:  # with the positions of the counters kept as sequences
        rows = numbering.positions(conn)
    result = conn.execution_options(yield_per=CHUNK).execute(rows)
    n = 0
    for rows in result.partitions():
        out.write("".join(json.dumps(encode(r), ensure_ascii=False, separators=(",", ":")) + "\n"
                          for r in rows))
        n += len(rows)
    _line(out, {"end": table.name, "rows": n})
    return n


def _line(out, obj: dict) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _revision(conn: Connection) -> str | None:
    from sqlalchemy import inspect

    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.scalar(text("SELECT version_num FROM alembic_version"))


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- restore -----------------------------------------------------------------------------


def load(conn: Connection, path: str | Path, *, replace: bool = False) -> Summary:
    """Restore every row of the backup at ``path`` in the caller's transaction.

    Refuses (``Conflict``) a database that already holds rows unless ``replace`` is set, and
    (``ValidationFailed`` on ``file``) a file that is not a complete mutua backup of this schema.
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed("file", "does not exist")
    known = {t.name: t for t in tables()}
    _check_schema_present(conn, known)
    lines = _read_lines(path)
    header = next(lines, None)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValidationFailed("file", "is not a mutua backup")
    if header.get("version") != VERSION:
        raise ValidationFailed("file", f"is backup format {header.get('version')}, expected {VERSION}")
    here = _revision(conn)
    if here and header.get("revision") and here != header["revision"]:
        raise ValidationFailed("file", f"was made at schema revision {header['revision']}, "
                                       f"this database is at {here}")
    if _holds_rows(conn, known.values()):
        if not replace:
            raise Conflict("the database already holds data: restore into a fresh database "
                           "(`mutua init`), or pass --replace to wipe it first")
        _wipe(conn, list(known.values()))
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
    summary = Summary(path=str(path), revision=header.get("revision"))
    _load_sections(conn, lines, known, summary)
    _reset_sequences(conn, [known[n] for n in summary.rows])
    numbering.continue_after_restore(conn)
    summary.sha256 = file_sha256(path)
    return summary


def _load_sections(conn: Connection, lines: Iterator, known: dict[str, Table], summary: Summary) -> None:
    for obj in lines:
        if isinstance(obj, dict) and obj.get("complete"):
            if obj.get("rows") != summary.total_rows:
                raise ValidationFailed("file", "row count in the trailer does not match")
            return
        if not (isinstance(obj, dict) and "table" in obj):
            raise ValidationFailed("file", "is damaged: expected a table header")
        name, columns = obj["table"], obj["columns"]
        table = known.get(name)
        if table is None:
            raise ValidationFailed("file", f"holds table {name!r}, which this schema does not have")
        missing = set(columns) - set(table.c.keys())
        if missing:
            raise ValidationFailed("file", f"table {name} has columns this schema lacks: {sorted(missing)}")
        summary.rows[name] = _load_table(conn, table, columns, lines)
    raise ValidationFailed("file", "is truncated: no closing line")


def _load_table(conn: Connection, table: Table, columns: list[str], lines: Iterator) -> int:
    decode = _decoder(table, columns)
    stmt = insert(table)
    batch: list[dict] = []
    n = 0
    for obj in lines:
        if isinstance(obj, dict):
            if obj.get("end") != table.name or obj.get("rows") != n + len(batch):
                raise ValidationFailed("file", f"is damaged in table {table.name}")
            break
        batch.append(decode(obj))
        if len(batch) >= CHUNK:
            conn.execute(stmt, batch)
            n += len(batch)
            batch = []
    else:
        raise ValidationFailed("file", f"is truncated in table {table.name}")
    if batch:
        conn.execute(stmt, batch)
        n += len(batch)
    return n


def _read_lines(path: Path) -> Iterator:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)
    except (EOFError, gzip.BadGzipFile, OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationFailed("file", "is truncated or not a gzip JSON Lines backup") from None


def _check_schema_present(conn: Connection, known: dict[str, Table]) -> None:
    from sqlalchemy import inspect

    present = set(inspect(conn).get_table_names())
    absent = sorted(set(known) - present)
    if absent:
        raise ValidationFailed("database", f"has no schema for {absent[:3]}...: run `mutua init` first")


def _holds_rows(conn: Connection, all_tables) -> bool:
    return any(conn.execute(select(1).select_from(t).limit(1)).first() for t in all_tables)


def _wipe(conn: Connection, all_tables: list[Table]) -> None:
    """Empty every table. The audit log's append-only triggers are lifted for this alone."""
    if conn.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in all_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return
    guarded = hardening.is_installed(conn)
    hardening.uninstall(conn)
    for t in reversed(all_tables):
        conn.execute(t.delete())
    if guarded:
        hardening.install(conn)


def _reset_sequences(conn: Connection, restored: list[Table]) -> None:
    """PostgreSQL: move each identity sequence past the restored ids."""
    if conn.dialect.name != "postgresql":
        return
    for table in restored:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or pk[0].type.python_type is not int:
            continue
        seq = conn.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                          {"t": table.name, "c": pk[0].name})
        if seq:
            top = conn.scalar(select(func.max(pk[0])))
            conn.execute(text("SELECT setval(:s, :v, :called)"),
                         {"s": seq, "v": top or 1, "called": top is not None})
