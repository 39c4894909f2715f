"""`mutua ledger ...`: the per-project books."""

from __future__ import annotations

import json

import typer

from mutua.db import unit_of_work
from mutua.ledger import service
from mutua.money import fmt

app = typer.Typer(help="Per-project double-entry books (账本).", no_args_is_help=True)


@app.command("trial-balance")
def trial_balance(project: str | None = typer.Option(None, help="project code; all if omitted"),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """Each account's balance (debit positive) and the total, which is zero."""
    with unit_of_work() as db:
        books = service.trial_balance(db, project_code=project)
    out = {"projects": [
        {"project": tb.project_code,
         "accounts": [{"code": a.code, "name": a.name, "kind": a.kind, "balance": fmt(a.balance)}
                      for a in tb.accounts],
         "total": fmt(tb.total)} for tb in books]}
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    for tb in out["projects"]:
        typer.echo(f"== {tb['project']}")
        for a in tb["accounts"]:
            if a["balance"] != "0.00":
                typer.echo(f"  {a['code']:<28} {a['balance']:>18}")
        typer.echo(f"  {'total':<28} {tb['total']:>18}")
