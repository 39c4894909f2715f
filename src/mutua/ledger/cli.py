"""`mutua ledger ...`: the per-project books."""

from __future__ import annotations

import json

import typer

from mutua.catalog import service as catalog_service
from mutua.dates import parse_date, today
from mutua.db import unit_of_work
from mutua.ledger import service
from mutua.members import accounts
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


def _project_id(db, code: str) -> int:
    return catalog_service.get_project(db, code=code).id


@app.command("cash")
def cash(project: str = typer.Option(..., help="project code"),
         on: str | None = typer.Option(None, help="YYYY-MM-DD (default today)"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """What the project may pay out: its cash and any approved overdraft."""
    day = parse_date(on, field="on") if on else today()
    with unit_of_work() as db:
        p = service.cash_position(db, project_id=_project_id(db, project), on=day)
    out = {"project": project, "on": day.isoformat(), "balance": fmt(p.balance),
           "overdraft": fmt(p.overdraft), "available": fmt(p.available)}
    typer.echo(json.dumps(out) if as_json else
               f"{project} on {day}: cash {out['balance']}, overdraft {out['overdraft']}, "
               f"available {out['available']}")


@app.command("overdrafts")
def overdrafts(project: str | None = typer.Option(None, help="project code; all if omitted"),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """Overdraft facilities, newest first, withdrawn ones included."""
    with unit_of_work() as db:
        rows = [{"id": o.id, "project_id": o.project_id, "limit": fmt(o.limit),
                 "starts_on": o.starts_on.isoformat(),
                 "ends_on": o.ends_on.isoformat() if o.ends_on else None,
                 "approved_by": o.approved_by_name, "reason": o.reason,
                 "withdrawn": o.withdrawn_at is not None}
                for o in service.overdrafts(
                    db, project_id=_project_id(db, project) if project else None)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        state = "withdrawn" if r["withdrawn"] else f"{r['starts_on']} to {r['ends_on'] or '-'}"
        typer.echo(f"{r['id']:>5}  project {r['project_id']}  limit {r['limit']:>14}  {state}  "
                   f"approved by {r['approved_by']}: {r['reason']}")


@app.command("overdraft-grant")
def overdraft_grant(project: str = typer.Option(..., help="project code"),
                    limit: str = typer.Option(..., help="yuan the cash may go below zero"),
                    reason: str = typer.Option(..., help="why the project may overdraw"),
                    by: str = typer.Option(..., "--by", help="the approving finance user"),
                    starts_on: str | None = typer.Option(None, "--from", help="YYYY-MM-DD"),
                    ends_on: str | None = typer.Option(None, "--until", help="YYYY-MM-DD")) -> None:
    """Record an overdraft facility that finance (or an administrator) approves; audited."""

    with unit_of_work() as db:
        row = service.grant_overdraft(
            db, project_id=_project_id(db, project), limit=limit, reason=reason,
            actor=accounts.staff_named(db, by),
            starts_on=parse_date(starts_on, field="from") if starts_on else None,
            ends_on=parse_date(ends_on, field="until") if ends_on else None)
        typer.echo(f"overdraft {row.id}: {project} may go {fmt(row.limit)} below zero "
                   f"from {row.starts_on}")


@app.command("overdraft-withdraw")
def overdraft_withdraw(overdraft_id: int,
                       by: str = typer.Option(..., "--by", help="the finance user")) -> None:
    """End an overdraft facility now (the record stays)."""
    with unit_of_work() as db:
        service.withdraw_overdraft(db, overdraft_id=overdraft_id,
                                   actor=accounts.staff_named(db, by))
    typer.echo(f"overdraft {overdraft_id} withdrawn")
