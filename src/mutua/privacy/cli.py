"""`mutua privacy ...`: deleting what is past its retention (privacy/retention.py), and
archiving the audit log by year instead (audit/partitions.py)."""

from __future__ import annotations

import json

import typer

from mutua.audit import partitions
from mutua.audit import service as audit
from mutua.auth.security import SYSTEM
from mutua.dates import today as shanghai_today
from mutua.db import unit_of_work
from mutua.jobs import cli as jobs_cli
from mutua.jobs import starts
from mutua.privacy import retention

app = typer.Typer(help="Personal data: retention and its purge.", no_args_is_help=True)


@app.command("purge")
def purge(dry_run: bool = typer.Option(False, "--dry-run", help="count only; change nothing"),
          detach: bool = typer.Option(False, "--detach", help="queue the job and return"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Delete or blank every record past its retention period, as a job (audited)."""
    if dry_run:
        with unit_of_work() as db:
            result = retention.purge(db, actor=SYSTEM, dry_run=True)
            db.rollback()
    else:
        job = jobs_cli.submit(lambda db: starts.privacy_purge(db, actor=SYSTEM),
                              detach=detach, quiet=as_json)
        if job is None:
            return
        result = jobs_cli.finished_or_fail(job)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    verb = "would be" if dry_run else "were"
    for rule in result["rules"]:
        typer.echo(f"{result['counts'][rule['record']]:>9} {rule['record']} {verb} purged "
                   f"(kept {rule['keep']}: {rule['basis']})")


@app.command("audit-partitions")
def audit_partitions(
        from_default: bool = typer.Option(
            False, "--from-default", help="first move the default partition's rows into "
            "partitions of their months (after a restore; holds the table while it copies)"),
        as_json: bool = typer.Option(False, "--json")) -> None:
    """PostgreSQL: create the audit log's missing monthly partitions now (the nightly
    task does the same); which were made, and which months sit in the default partition."""
    with unit_of_work() as db:
        moved = partitions.empty_default(db.connection()) if from_default else []
        done = partitions.prepare_ahead(db.connection(), today=shanghai_today())
    _show({"from_default": moved, **done.to_dict()}, as_json)


@app.command("archive-audit-year")
def archive_audit_year(year: int = typer.Argument(..., help="a closed calendar year"),
                       as_json: bool = typer.Option(False, "--json")) -> None:
    """PostgreSQL: detach a closed year's months from the audit log (audited). Their tables
    stay, to be dumped and then dropped by hand: docs/operations.md says how."""
    with unit_of_work() as db:
        names = partitions.archive_year(db.connection(), year=year, today=shanghai_today())
        audit.record(db, actor=SYSTEM, action="audit.archive_year", entity="audit_events",
                     entity_id=year, detail={"detached": names})
    _show({"year": year, "detached": names}, as_json)


def _show(result: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    for key, names in result.items():
        if isinstance(names, list):
            typer.echo(f"{key}: {', '.join(names) or '-'}")
