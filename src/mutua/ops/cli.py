"""Top-level operator commands: `mutua init`, `mutua serve`, `mutua demo`, users."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.command("demo")(demo)
    app.command("backup")(backup)
    app.command("restore")(restore)


def init() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from mutua import schema
    from mutua.settings import get_settings

    url = get_settings().database_url
    schema.upgrade(url)
    typer.echo(f"schema is up to date at {url.split('@')[-1]}")


def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          workers: int = typer.Option(1)) -> None:
    """Serve the API and pages with uvicorn."""
    import uvicorn

    uvicorn.run("mutua.web.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="info")


def demo(seed: int = typer.Option(7, help="random seed: the same seed builds the same mutual"),
         members: int = typer.Option(20000, help="number of synthetic members"),
         fresh: bool = typer.Option(True, help="drop the existing database first"),
         detach: bool = typer.Option(False, "--detach", help="queue the build, print the job id"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Build a deterministic synthetic mutual in the configured database, as a job.

    With ``--fresh`` (the default) the database is dropped and its schema made first, here;
    the build itself is a job of the new database, followed with a progress bar.
    """
    from mutua.auth.security import SYSTEM
    from mutua.demo import builder
    from mutua.jobs import starts
    from mutua.jobs.cli import finished_or_fail, submit
    from mutua.settings import get_settings

    url = get_settings().database_url
    if fresh:
        builder.drop_database(url)
    builder.create_schema(url)
    job = submit(lambda db: starts.demo_build(db, seed=seed, members=members, actor=SYSTEM),
                 detach=detach, quiet=as_json)
    if job is not None:
        summary = finished_or_fail(job)
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=None if as_json else 2))


def backup(file: str = typer.Argument(..., help="where to write the backup (.jsonl.gz)"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Write every table, from one consistent snapshot, to FILE (portable SQLite <-> PostgreSQL)."""
    from mutua.audit import service as audit
    from mutua.auth.security import SYSTEM
    from mutua.db import get_engine, unit_of_work
    from mutua.ops import backup as ops_backup

    engine = get_engine()
    with engine.connect() as conn:
        ops_backup.begin_snapshot(conn)
        summary = ops_backup.dump(conn, file)
        conn.rollback()  # the snapshot only read
    with unit_of_work(engine) as db:  # a backup reads health data: it is audited
        audit.record(db, actor=SYSTEM, action="ops.backup", entity="database", entity_id="all",
                     detail={"rows": summary.total_rows, "sha256": summary.sha256})
    _report(summary.to_dict(), as_json, f"backed up {summary.total_rows} rows of "
                                        f"{len(summary.rows)} tables to {file}")


def restore(file: str = typer.Argument(..., help="a file written by `mutua backup`"),
            replace: bool = typer.Option(False, "--replace",
                                         help="wipe a database that already holds data first"),
            as_json: bool = typer.Option(False, "--json")) -> None:
    """Load every table from FILE in one transaction (all or nothing) into an initialised database."""
    from mutua.audit import service as audit
    from mutua.auth.security import SYSTEM
    from mutua.db import get_engine, session_factory
    from mutua.ops import backup as ops_backup

    engine = get_engine()
    with engine.begin() as conn:
        summary = ops_backup.load(conn, file, replace=replace)
        with session_factory(conn)() as db:
            audit.record(db, actor=SYSTEM, action="ops.restore", entity="database", entity_id="all",
                         detail={"rows": summary.total_rows, "sha256": summary.sha256,
                                 "replace": replace})
            db.flush()
    _report(summary.to_dict(), as_json, f"restored {summary.total_rows} rows of "
                                        f"{len(summary.rows)} tables from {file}")


def _report(data: dict, as_json: bool, line: str) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False) if as_json else line)
