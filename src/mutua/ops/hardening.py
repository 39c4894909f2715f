"""Database-level protections that do not depend on the application behaving.

The audit log (审计日志) is append-only by contract: :mod:`mutua.audit.service` only ever
inserts. :func:`install` makes the database itself refuse ``UPDATE`` and ``DELETE`` on
``audit_events``, so a bug, a hand-typed SQL statement or a stolen application login cannot
rewrite history either. On PostgreSQL it is a PL/pgSQL trigger function; on SQLite two
``BEFORE`` triggers that ``RAISE(ABORT, ...)``.

Call it once after the schema is created (the initial Alembic migration does); it is
idempotent::

    from mutua.ops import hardening
    hardening.install(engine)              # or a Connection, e.g. op.get_bind() in a migration

``TRUNCATE`` stays possible on PostgreSQL for the table owner (wiping a scratch database,
restoring a backup with ``--replace``); production grants the application role only
``SELECT, INSERT`` on ``audit_events`` (see docs/operations.md), so the application cannot
truncate it either.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

AUDIT_TABLE = "audit_events"
REFUSAL = "audit_events is append-only: UPDATE and DELETE are refused"

_PG_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION mutua_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    f"DROP TRIGGER IF EXISTS audit_events_append_only ON {AUDIT_TABLE}",
    f"""
    CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON {AUDIT_TABLE}
    FOR EACH ROW EXECUTE FUNCTION mutua_audit_append_only()
    """,
]

_PG_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS audit_events_append_only ON {AUDIT_TABLE}",
    "DROP FUNCTION IF EXISTS mutua_audit_append_only()",
]

_SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON {AUDIT_TABLE}
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON {AUDIT_TABLE}
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END
    """,
]

_SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS audit_events_no_update",
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
]


def install(bind: Engine | Connection) -> None:
    """Make ``audit_events`` refuse UPDATE and DELETE in the database itself (idempotent)."""
    _run(bind, _PG_INSTALL, _SQLITE_INSTALL)


def uninstall(bind: Engine | Connection) -> None:
    """Remove the protection: only for a downgrade migration or a deliberate restore."""
    _run(bind, _PG_UNINSTALL, _SQLITE_UNINSTALL)


def is_installed(bind: Engine | Connection) -> bool:
    """Whether the append-only triggers are present."""
    def check(conn: Connection) -> bool:
        if conn.dialect.name == "sqlite":
            n = conn.scalar(text(
                "SELECT count(*) FROM sqlite_master WHERE type='trigger' "
                "AND name IN ('audit_events_no_update', 'audit_events_no_delete')"))
            return n == 2
        n = conn.scalar(text(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_events_append_only' "
            "AND NOT tgisinternal"))
        return n >= 1

    if isinstance(bind, Connection):
        return check(bind)
    with bind.connect() as conn:
        return check(conn)


def _run(bind: Engine | Connection, pg: list[str], sqlite: list[str]) -> None:
    def execute(conn: Connection) -> None:
        for statement in sqlite if conn.dialect.name == "sqlite" else pg:
            conn.execute(text(statement))

    if isinstance(bind, Connection):
        execute(bind)
    else:
        with bind.begin() as conn:
            execute(conn)
