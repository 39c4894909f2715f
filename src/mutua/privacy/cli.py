"""`mutua privacy ...`: deleting what is past its retention (privacy/retention.py)."""

from __future__ import annotations

import json

import typer

from mutua.auth.security import SYSTEM
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
