"""`mutua notify ...`: the notifications outbox from the command line."""

from __future__ import annotations

import json

import typer

from mutua.db import get_engine
from mutua.jobs.notices import notification_round
from mutua.settings import get_settings

app = typer.Typer(help="Notifications to members: deliver the outbox.", no_args_is_help=True)


@app.command("deliver")
def deliver(as_json: bool = typer.Option(False, "--json")) -> None:
    """Run one delivery round now (the worker runs one every minute)."""
    out = notification_round(get_engine(), settings=get_settings()).to_dict()
    typer.echo(json.dumps(out) if as_json else
               ", ".join(f"{k} {v}" for k, v in out.items()))
