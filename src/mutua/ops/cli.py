"""Top-level operator commands: `mutua init`, `mutua serve`, `mutua demo`, users."""

from __future__ import annotations

import json
from enum import StrEnum

import typer

from mutua import schema
from mutua.audit import service as audit
from mutua.auth.security import SYSTEM
from mutua.db import get_engine, session_factory, unit_of_work
from mutua.demo import builder
from mutua.jobs import starts
from mutua.jobs.cli import finished_or_fail, submit
from mutua.ops import backup as ops_backup
from mutua.ops import keys, serving
from mutua.settings import get_settings
from mutua.web.labels import demo_story


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.command("demo")(demo)
    app.command("backup")(backup)
    app.command("restore")(restore)


def init() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""

    url = get_settings().database_url
    schema.upgrade(url)
    typer.echo(f"schema is up to date at {url.split('@')[-1]}")


def serve(host: str = typer.Option("127.0.0.1"),
          port: int = typer.Option(8000, min=1, max=65535),
          workers: int = typer.Option(1, min=1, max=64, help="worker processes, each on its "
                                      "own socket (SO_REUSEPORT) so connections split evenly"),
          access_log: bool = typer.Option(False, help="log every request (the proxy keeps "
                                          "one already; a line a request costs CPU)"),
          log_level: LogLevel = typer.Option(LogLevel.info),
          proxy_headers: bool = typer.Option(True, help="take the client's address and scheme "
                                             "from X-Forwarded-* headers of trusted proxies"),
          forwarded_allow_ips: str | None = typer.Option(
              None, help="the proxies trusted, comma-separated (default: "
              "$FORWARDED_ALLOW_IPS, else 127.0.0.1)")) -> None:
    """Serve the API and pages with uvicorn. Needs MUTUA_SECRET_KEY, except over a demo.

    The server measured in docs/performance.md and the systemd unit in docs/operations.md:
    uvicorn's access log off, MUTUA_REQUEST_THREADS request threads a worker, and with
    several workers a socket each (mutua.ops.serving)."""
    _signing_key_or_demo_key()
    listen = serving.Listen(host=host, port=port, access_log=access_log,
                            log_level=log_level.value, proxy_headers=proxy_headers,
                            forwarded_allow_ips=forwarded_allow_ips)
    status = serving.serve(listen, workers=workers)
    if status:
        raise typer.Exit(status)


def _signing_key_or_demo_key() -> None:
    """Refuse to serve without a key fit to sign with; over a demo, take the demo's own key.

    The key reaches the app (and uvicorn's worker processes) as MUTUA_SECRET_KEY.
    """
    import os

    settings = get_settings()
    if not settings.secret_key:
        demo_key = keys.read_demo_key(settings.demo_key_file)
        os.environ["MUTUA_SECRET_KEY"] = demo_key
        if not settings.payment_callback_secret:  # the demo's members pay the fake provider
            os.environ["MUTUA_PAYMENT_CALLBACK_SECRET"] = keys.demo_payment_secret(demo_key)
        get_settings.cache_clear()
        typer.echo(f"MUTUA_SECRET_KEY is not set: serving the demo with its own key from "
                   f"{settings.demo_key_file}", err=True)
    get_settings().signing_key()  # SecretKeyRefused: one line and exit code 2


def demo(seed: int = typer.Option(7, help="random seed: the same seed builds the same mutual"),
         members: int = typer.Option(20000, help="number of synthetic members"),
         fresh: bool = typer.Option(True, help="drop the existing database first"),
         detach: bool = typer.Option(False, "--detach", help="queue the build, print the job id"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Build a deterministic synthetic mutual in the configured database, as a job.

    With ``--fresh`` (the default) the database is dropped and its schema made first, here;
    the build itself is a job of the new database, followed with a progress bar. The first
    run also makes the demo's signing key (var/demo-secret.key, mode 0600), which
    `mutua serve` uses when MUTUA_SECRET_KEY is unset.
    """
    keys.make_demo_key(get_settings().demo_key_file)
    url = get_settings().database_url
    if fresh:
        builder.drop_database(url)
    builder.create_schema(url)
    job = submit(lambda db: starts.demo_build(db, seed=seed, members=members, actor=SYSTEM),
                 detach=detach, quiet=as_json)
    if job is None:
        return
    summary = finished_or_fail(job)
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=None if as_json else 2))
    if not as_json:
        _print_loss_ratios(summary.get("loss_ratios") or {})
        _print_demo_logins(summary["logins"])


def _print_loss_ratios(ratios: dict[str, dict[str, str]]) -> None:
    """Each project's closed quarters: claims incurred over earned premium."""
    from rich.console import Console
    from rich.table import Table

    quarters = sorted({q for by_quarter in ratios.values() for q in by_quarter})
    if not quarters:
        return
    table = Table(title="Loss ratio of each closed quarter (claims incurred / earned premium)")
    table.add_column("Project")
    for q in quarters:
        table.add_column(q, justify="right")
    for project, by_quarter in sorted(ratios.items()):
        table.add_row(project, *(f"{float(by_quarter[q]):.0%}" if q in by_quarter else "—"
                                 for q in quarters))
    Console().print(table)


def _print_demo_logins(logins: dict) -> None:
    """The members to sign in as, and what each shows, the same list as the sign-in page's."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Demo sign-ins (password {logins['password']}; staff: "
                        f"{', '.join(s['username'] for s in logins['staff'])})")
    for column in ("Member number", "Phone", "Project", "What it shows"):
        table.add_column(column)
    for m in logins["members"]:
        table.add_row(m["username"], m["phone"], m["project"], demo_story(m))
    console = Console()
    console.print(table)
    for m in logins["members"]:
        if "secret" in m["facts"]:
            console.print(f"Ballot secret of {m['username']}: {m['facts']['secret']}",
                          soft_wrap=True)



def backup(file: str = typer.Argument(..., help="where to write the backup (.jsonl.gz)"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Write every table, from one consistent snapshot, to FILE (portable SQLite <-> PostgreSQL)."""
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
