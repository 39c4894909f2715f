"""`mutua policies ...`: enrol and cancel from the command line."""

from __future__ import annotations

from datetime import date

import typer

from mutua.auth.security import SYSTEM
from mutua.dates import parse_date
from mutua.dates import today as shanghai_today
from mutua.db import unit_of_work
from mutua.policies import cancellation, renewal_offers, renewals, service
from mutua.policies.router import policy_out

app = typer.Typer(help="Enrolment and policies (保单).", no_args_is_help=True)


@app.command("enrol")
def enrol(member_id: int = typer.Option(..., "--member"), product: str = typer.Option(...),
          period: str = typer.Option(...), on: str | None = typer.Option(None, help="YYYY-MM-DD"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Enrol a member in a product's open period."""
    when = parse_date(on, field="on") if on else None
    with unit_of_work() as db:
        p = service.enrol(db, member_id=member_id, product_code=product, period_code=period,
                          actor=SYSTEM, on=when)
        out = policy_out(db, p)
    typer.echo(out.model_dump_json() if as_json else f"enrolled: {out.policy_number}")


@app.command("cancel")
def cancel(policy_id: int, on: str | None = typer.Option(None, help="YYYY-MM-DD"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Cancel a policy and refund what is due."""
    when: date | None = parse_date(on, field="on") if on else None
    with unit_of_work() as db:
        out = policy_out(db, cancellation.cancel(db, policy_id=policy_id, actor=SYSTEM, on=when))
    typer.echo(out.model_dump_json() if as_json else f"cancelled, refund {out.refund}")


@app.command("renew")
def renew(product: str = typer.Option(...), from_period: str = typer.Option(..., "--from"),
          to_period: str = typer.Option(..., "--to"),
          paid: bool = typer.Option(False, help="the premium came with the renewals"),
          on: str | None = typer.Option(None, help="YYYY-MM-DD"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Renew a product's policies from one sale period into the next (set-based)."""
    import json

    when = parse_date(on, field="on") if on else None
    with unit_of_work() as db:
        result = renewals.renew_group(db, product_code=product, from_period=from_period,
                                      to_period=to_period, actor=SYSTEM, on=when, paid=paid)
    out = result.to_dict()
    typer.echo(json.dumps(out) if as_json else
               f"renewed {out['renewed']}, not renewed {len(out['not_renewed'])}")


@app.command("renewal-run")
def renewal_run(on: str | None = typer.Option(None, help="YYYY-MM-DD (default today)"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """The daily renewal run: offer renewal to policies ending soon, tell members who are not
    renewing, renew auto-renewals at their end and settle ended offers (safe to re-run)."""
    import json


    when = parse_date(on, field="on") if on else shanghai_today()
    with unit_of_work() as db:
        out = renewal_offers.run(db, on=when, actor=SYSTEM).to_dict()
    typer.echo(json.dumps(out) if as_json else
               ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in out.items()))
