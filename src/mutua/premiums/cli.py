"""`mutua premiums ...`: collection files, the reconciliation queue and the lapse run."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mutua.auth.security import SYSTEM
from mutua.dates import parse_date
from mutua.dates import today as shanghai_today
from mutua.db import unit_of_work
from mutua.policies import dues
from mutua.premiums import service

app = typer.Typer(help="Premium collection and reconciliation (保费收缴与对账).",
                  no_args_is_help=True)


@app.command("import")
def import_file(path: Path, project: str = typer.Option(...),
                source: str = typer.Option("bank", help="bank | wechat | alipay"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Take a settlement file: exact payments post, the rest go to the queue."""
    with unit_of_work() as db:
        report = service.import_file(db, project_code=project, source=source,
                                     data=path.read_bytes(), filename=path.name, actor=SYSTEM)
    out = report.to_dict()
    typer.echo(json.dumps(out) if as_json else
               f"file {out['file_id']}: {out['lines']} lines, {out['posted']} posted, "
               f"{out['queued']} queued, {out['repeated']} already taken")


@app.command("queue")
def queue(project: str | None = typer.Option(None), state: str = typer.Option("queued"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Payments waiting for finance."""
    with unit_of_work() as db:
        rows, total = service.queue(db, project_code=project, state=state, limit=500)
        items = [{"id": r.id, "transaction_id": r.transaction_id, "reference": r.reference,
                  "amount": str(r.amount), "paid_on": r.paid_on.isoformat(),
                  "reason": r.reason, "state": r.state} for r in rows]
    if as_json:
        typer.echo(json.dumps({"total": total, "items": items}))
        return
    for i in items:
        typer.echo(f"{i['id']:>8} {i['paid_on']} {i['amount']:>12} {i['reference']:<14} "
                   f"{i['reason']:<10} {i['transaction_id']}")
    typer.echo(f"{total} {state}")


@app.command("match")
def match(payment_id: int, reference: str) -> None:
    """Apply a queued payment to a due or group invoice."""
    with unit_of_work() as db:
        item = service.match(db, payment_id=payment_id, reference=reference, actor=SYSTEM)
        typer.echo(f"payment {item.id} matched to {item.matched_reference}")


@app.command("refund")
def refund(payment_id: int, note: str = typer.Option("")) -> None:
    """Pay a queued payment back through the provider."""
    with unit_of_work() as db:
        item = service.refund(db, payment_id=payment_id, actor=SYSTEM, note=note)
        typer.echo(f"payment {item.id} refunded ({item.refund_id})")


@app.command("hold")
def hold(payment_id: int, note: str = typer.Option(...)) -> None:
    """Keep a queued payment in suspense, saying why."""
    with unit_of_work() as db:
        service.hold(db, payment_id=payment_id, note=note, actor=SYSTEM)
        typer.echo(f"payment {payment_id} held")


@app.command("lapse")
def lapse(on: str | None = typer.Option(None, help="YYYY-MM-DD (default today)"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Lapse every policy whose premium is unpaid past its grace end and remind those whose
    grace ends within a week (safe to re-run: nobody is lapsed or reminded twice)."""
    when = parse_date(on, field="on") if on else shanghai_today()
    with unit_of_work() as db:
        lapsed = sum(dues.lapse_overdue(db, on=when).values())
        reminded = dues.remind_unpaid(db, on=when)
    typer.echo(json.dumps({"lapsed": lapsed, "reminded": reminded}) if as_json
               else f"{lapsed} policies lapsed, {reminded} members reminded")
