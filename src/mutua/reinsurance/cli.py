"""`mutua reinsurance ...`: file and list treaties, list and receive recoveries."""

from __future__ import annotations

import json
from datetime import date

import typer

from mutua.auth.security import SYSTEM
from mutua.db import unit_of_work
from mutua.errors import ValidationFailed
from mutua.reinsurance import service

app = typer.Typer(help="Reinsurance treaties and recoveries (再保险).", no_args_is_help=True)
AsJson = typer.Option(False, "--json", help="print machine-readable JSON")


def _echo(rows: list[dict], as_json: bool, columns: tuple[str, ...]) -> None:
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo("  ".join(f"{r[c]}" for c in columns))


@app.command("file")
def file(project: str = typer.Option(...), code: str = typer.Option(...),
         kind: str = typer.Option(..., help="per_risk or catastrophe"),
         reinsurer: str = typer.Option(...), retention: str = typer.Option(...),
         limit: str = typer.Option(...), rate: str = typer.Option(...),
         reinstatements: int = typer.Option(0),
         reinstatement_rate: str = typer.Option("0"),
         starts_on: str = typer.Option(..., help="YYYY-MM-DD"),
         ends_on: str = typer.Option(..., help="YYYY-MM-DD"), as_json: bool = AsJson) -> None:
    """File an excess-of-loss treaty for a project."""
    with unit_of_work() as db:
        row = service.file_treaty(
            db, actor=SYSTEM, project_code=project, code=code, kind=kind, reinsurer=reinsurer,
            retention=retention, limit=limit, rate=rate, reinstatements=reinstatements,
            reinstatement_rate=reinstatement_rate, starts_on=_day(starts_on, "starts_on"),
            ends_on=_day(ends_on, "ends_on"))
        out = service.treaty_out(row, project)
    _echo([out], as_json, ("project", "code", "kind", "retention", "limit", "starts_on",
                           "ends_on"))


def _day(text: str, field: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(field, "must be a date") from None


@app.command("treaties")
def treaties(project: str | None = typer.Option(None), as_json: bool = AsJson) -> None:
    """Treaties with what they recovered and what is outstanding."""
    with unit_of_work() as db:
        rows, _total = service.list_treaties(db, project_code=project, limit=500)
    _echo(rows, as_json, ("project", "code", "kind", "reinsurer", "retention", "limit",
                          "recovered", "outstanding"))


@app.command("recoveries")
def recoveries(project: str | None = typer.Option(None),
               outstanding: bool = typer.Option(False, "--outstanding"),
               as_json: bool = AsJson) -> None:
    """Recoveries booked on decisions, latest first."""
    with unit_of_work() as db:
        rows, _total = service.list_recoveries(db, project_code=project,
                                               outstanding=outstanding, limit=500)
    _echo(rows, as_json, ("id", "project", "treaty", "claim", "amount", "recorded_on",
                          "received_on"))


@app.command("receive")
def receive(recovery_id: int = typer.Argument(...),
            on: str | None = typer.Option(None, help="YYYY-MM-DD, default today"),
            as_json: bool = AsJson) -> None:
    """Record a reinsurer's payment of a recovery."""
    with unit_of_work() as db:
        row = service.receive(db, recovery_id=recovery_id, actor=SYSTEM,
                              on=_day(on, "on") if on else None)
        out = {"id": row.id, "amount": f"{row.amount:.2f}", "received_on": str(row.received_on)}
    _echo([out], as_json, ("id", "amount", "received_on"))


@app.command("pay-premium")
def pay_premium(project: str = typer.Option(...), amount: str = typer.Option(...),
                on: str | None = typer.Option(None, help="YYYY-MM-DD, default today"),
                as_json: bool = AsJson) -> None:
    """Pay reinsurers premium the project owes them."""
    with unit_of_work() as db:
        owed = service.pay_premium(db, project_code=project, amount=amount, actor=SYSTEM,
                                   on=_day(on, "on") if on else None)
    _echo([{"project": project, "paid": amount, "still_owed": f"{owed:.2f}"}], as_json,
          ("project", "paid", "still_owed"))
