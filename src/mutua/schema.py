"""Create or upgrade the schema with Alembic (the migrations ship inside the package)."""

from __future__ import annotations

from pathlib import Path

from alembic import command, op
from alembic.config import Config

from mutua.audit.partitions import is_partition_table
from mutua.db import Base, load_all_models, make_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def ours(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's filter: procrastinate's tables are its own, built by migration 0007 from its
    SQL files, and are not in our models; nor are the audit log's monthly partitions."""
    return not (type_ == "table" and ((name or "").startswith("procrastinate_")
                                      or is_partition_table(name)))


def upgrade(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (creates it if empty)."""
    make_engine(url).dispose()  # creates the SQLite file's folder
    command.upgrade(alembic_config(url), "head")


def pending_changes(url: str) -> list:
    """Differences between the models and the migrated database (empty when in step)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    load_all_models()
    engine = make_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": ours})
        return compare_metadata(ctx, Base.metadata)


def sqlite_foreign_keys(*, on: bool) -> None:
    """Inside a migration: SQLite's foreign keys off for a batch rebuild, and proven intact
    after it (``on=True`` checks every key first). Rebuilding a table other rows point at is
    only safe with them off (dropping the old table would otherwise delete through the
    children's keys). The pragma is a no-op inside a transaction, so it is set between
    transactions (autocommit_block commits the work before it). Nothing on PostgreSQL, which
    alters its tables in place."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if on:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"rows left without their parent by the rebuild: {broken[:5]}")
    with op.get_context().autocommit_block():
        bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
