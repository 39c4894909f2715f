"""`mutua calendar ...`: the working-day calendar (public holidays, adjusted working days)."""

from __future__ import annotations

import json

import typer

from mutua.auth.security import SYSTEM
from mutua.complaints import calendar_days
from mutua.dates import parse_date, today
from mutua.db import unit_of_work

app = typer.Typer(help="Working-day calendar: public holidays and adjusted working days (调休).",
                  no_args_is_help=True)


def _out(row) -> dict:
    return {"day": row.day.isoformat(), "kind": row.kind, "name": row.name,
            "source": row.source}


@app.command("list")
def list_days(year: int = typer.Option(None, help="default: this year"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """The holidays and worked weekend days of a year."""
    with unit_of_work() as db:
        rows = [_out(r) for r in calendar_days.days_of(db, year=year or today().year)]
    if as_json:
        typer.echo(json.dumps({"days": rows}, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"{r['day']}  {r['kind']:<8} {r['name']}")


@app.command("add")
def add(day: str = typer.Argument(..., help="YYYY-MM-DD"),
        kind: str = typer.Option(..., help="holiday | workday (a weekend day worked)"),
        name: str = typer.Option(..., help="e.g. 国庆节, 国庆节调休"),
        source: str = typer.Option("", help="the notice that set it"),
        as_json: bool = typer.Option(False, "--json")) -> None:
    """Mark a day as a public holiday or a worked weekend day (or change it)."""
    with unit_of_work() as db:
        row = _out(calendar_days.set_day(db, day=parse_date(day, field="day"), kind=kind,
                                         name=name, source=source, actor=SYSTEM))
    typer.echo(json.dumps(row, ensure_ascii=False) if as_json
               else f"{row['day']} is a {row['kind']} ({row['name']})")


@app.command("remove")
def remove(day: str = typer.Argument(..., help="YYYY-MM-DD")) -> None:
    """Make a day an ordinary day again."""
    with unit_of_work() as db:
        calendar_days.remove_day(db, day=parse_date(day, field="day"), actor=SYSTEM)
    typer.echo(f"{day} removed")


@app.command("seed")
def seed(as_json: bool = typer.Option(False, "--json")) -> None:
    """Add the published schedule (2026) where the table has no such day yet."""
    with unit_of_work() as db:
        added = calendar_days.seed(db, actor=SYSTEM)
    typer.echo(json.dumps({"added": added}) if as_json else f"{added} days added")
