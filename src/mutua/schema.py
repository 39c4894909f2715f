"""Create or upgrade the schema with Alembic (the migrations ship inside the package)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from mutua.db import Base, load_all_models, make_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def ours(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's filter: procrastinate's tables are its own, built by migration 0007 from its
    SQL files, and are not in our models."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


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
    """A migration's SQLite foreign keys off for a table rebuild, and proven intact after it.

    Rebuilding a table other rows point at is only safe with the keys off (dropping the old
    table would otherwise delete through the children's keys); ``PRAGMA foreign_key_check``
    proves nothing was orphaned before the revision commits. The pragma is a no-op inside a
    transaction, so it runs between transactions (autocommit_block commits the work before it).
    """
    from alembic import op

    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return  # PostgreSQL alters keys in place
    if on:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"rows left without their parent by the rebuild: {broken[:5]}")
    with op.get_context().autocommit_block():
        bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
