"""`mutua claims ...`: the claims queue, decisions, payment batches, triangles, publication."""

from __future__ import annotations

import json

import typer

from mutua.auth.security import SYSTEM
from mutua.catalog import service as catalog_service
from mutua.claims import service
from mutua.claims.schemas import DecisionIn, ItemOverride
from mutua.dates import parse_date
from mutua.dates import today as shanghai_today
from mutua.db import unit_of_work
from mutua.errors import ValidationFailed
from mutua.jobs import starts
from mutua.jobs.cli import Detach, finished_or_fail, submit
from mutua.members import accounts

app = typer.Typer(help="Claims (理赔): report, adjudicate, pay.", no_args_is_help=True)

AsJson = typer.Option(False, "--json", help="print machine-readable JSON")


By = typer.Option(None, "--by", help="staff username to act and be audited as (default: system)")


def _actor(db, username: str | None):
    """The staff user named with --by, or the system when none is named."""
    return accounts.staff_named(db, username) if username else SYSTEM


def _date(value: str | None, field: str):
    return parse_date(value, field=field) if value else shanghai_today()


@app.command("list")
def list_claims(project: str | None = typer.Option(None), status: str | None = typer.Option(
        None, help="open, or one of reported under_review decided paid closed reopened"),
        limit: int = typer.Option(50), offset: int = typer.Option(0),
        as_json: bool = AsJson) -> None:
    """Claims, newest first (``--status open`` is the handlers' queue; ``--status
    awaiting_approval`` the overrides waiting for a second handler)."""
    with unit_of_work() as db:
        rows, total = service.list_claims(db, actor=SYSTEM, project_code=project, status=status,
                                          limit=limit, offset=offset)
        items = [service.summary(c) for c in rows]
    if as_json:
        typer.echo(json.dumps({"total": total, "items": [i.model_dump(mode="json")
                                                          for i in items]}, ensure_ascii=False))
        return
    typer.echo(f"{total} claims")
    for c in items:
        typer.echo(f"{c.claim_number}  {c.event_date}  {c.event_type:<12} {c.status:<12} "
                   f"{c.outcome or '-':<15} approved {c.approved:>12}  paid {c.paid:>12}")


@app.command("show")
def show(claim_id: int, as_json: bool = AsJson) -> None:
    """One claim with its items, reasons and decisions."""
    with unit_of_work() as db:
        out = service.to_out(db, service.get(db, claim_id=claim_id, actor=SYSTEM))
    if as_json:
        typer.echo(out.model_dump_json())
        return
    typer.echo(f"{out.claim_number}  {out.event_type} on {out.event_date}  status {out.status}"
               f"  outcome {out.outcome or '-'}  approved {out.approved}  paid {out.paid}")
    for i in out.items:
        typer.echo(f"  {i.benefit_code:<14} approved {i.approved:>12}  {', '.join(i.reasons)}")
    _echo_pending(out)


def _echo_pending(out) -> None:
    p = out.pending_override
    if p is None:
        return
    typer.echo(f"  awaiting a second approver: {p.requested_by_name} asks {p.approved} "
               f"({p.above_engine} above the engine's {p.engine_amount}): {p.reason}")
    for i in p.items:
        typer.echo(f"    item {i.item_id}: {i.approved}")


@app.command("decide")
def decide(claim_id: int,
           approve: list[str] = typer.Option(
               [], "--approve", help="ITEM_ID=AMOUNT to override an item (repeatable)"),
           reason: str = typer.Option("", help="written reason (required for an override)"),
           documents_reason: str = typer.Option(
               "", help="why money is approved without every required document"),
           circumstance: list[str] = typer.Option(
               [], "--circumstance", help="exclusion trigger found on review (repeatable)"),
           by: str | None = By, as_json: bool = AsJson) -> None:
    """Decide a claim: the engine's amounts, or overrides with a reason.

    An override above the engine by more than the four-eyes limit waits for a second
    handler (``mutua claims approve-override``)."""

    overrides = []
    for text in approve:
        item_id, sep, amount = text.partition("=")
        if not sep or not item_id.strip().isdigit():
            raise ValidationFailed("approve", f"must look like ITEM_ID=AMOUNT, got {text!r}")
        overrides.append(ItemOverride(item_id=int(item_id), approved=amount.strip()))
    data = DecisionIn(items=overrides, reason=reason, documents_reason=documents_reason,
                      circumstances=list(circumstance) if circumstance else None)
    with unit_of_work() as db:
        claim = service.decide(db, claim_id=claim_id, actor=_actor(db, by), data=data)
        out = service.to_out(db, claim)
    if as_json:
        typer.echo(out.model_dump_json())
    elif out.pending_override is not None:
        typer.echo(f"{out.claim_number}: the override waits for a second approver")
        _echo_pending(out)
    else:
        typer.echo(f"{out.claim_number}: {out.outcome}, approved {out.approved}")


@app.command("decline")
def decline(claim_id: int,
            reason: str = typer.Option(..., help="why the claim is declined (the member reads it)"),
            by: str | None = By, as_json: bool = AsJson) -> None:
    """Decline an open claim (拒赔) with a written reason; nothing is paid."""
    with unit_of_work() as db:
        out = service.to_out(db, service.decline(db, claim_id=claim_id, actor=_actor(db, by),
                                                 reason=reason))
    _echo_claim(out, as_json)


@app.command("request-documents")
def request_documents(claim_id: int,
                      kind: list[str] = typer.Option(
                          ..., "--kind", help="document kind still missing (repeatable)"),
                      note: str = typer.Option("", help="what the member should send"),
                      by: str | None = By, as_json: bool = AsJson) -> None:
    """Ask the member for the missing documents in one go; the decision clock stops until
    one arrives (PRC Insurance Law art. 22-23)."""
    with unit_of_work() as db:
        out = service.to_out(db, service.request_documents(
            db, claim_id=claim_id, actor=_actor(db, by), kinds=list(kind), note=note))
    _echo_claim(out, as_json)


@app.command("assign")
def assign(claim_id: int,
           handler: str = typer.Option(..., help="the handler's username; '' takes it back"),
           by: str | None = By, as_json: bool = AsJson) -> None:
    """Give an open claim to a claims handler, or take it back with ``--handler ''``."""
    with unit_of_work() as db:
        out = service.to_out(db, service.assign(db, claim_id=claim_id, actor=_actor(db, by),
                                                handler=handler))
    _echo_claim(out, as_json)


def _echo_claim(out, as_json: bool) -> None:
    typer.echo(out.model_dump_json() if as_json
               else f"{out.claim_number}: {out.status}, outcome {out.outcome or '-'}, "
                    f"approved {out.approved}, handler {out.assigned_name or '-'}")


@app.command("approve-override")
def approve_override(claim_id: int,
                     by: str = typer.Option(..., "--by", help="the second handler's username"),
                     note: str = typer.Option("", help="what the approver checked"),
                     as_json: bool = AsJson) -> None:
    """Approve an override waiting for a second handler (not the one who asked)."""
    _answer_override("approve_override", claim_id, by, note, as_json)


@app.command("reject-override")
def reject_override(claim_id: int,
                    by: str = typer.Option(..., "--by", help="the handler's username"),
                    note: str = typer.Option(..., help="why the override is turned down"),
                    as_json: bool = AsJson) -> None:
    """Turn down an override waiting for a second handler; the claim stays open."""
    _answer_override("reject_override", claim_id, by, note, as_json)


def _answer_override(answer: str, claim_id: int, by: str, note: str, as_json: bool) -> None:
    with unit_of_work() as db:
        claim = getattr(service, answer)(db, claim_id=claim_id, actor=_actor(db, by), note=note)
        out = service.to_out(db, claim)
    _echo_claim(out, as_json)


@app.command("pay")
def pay(project: str = typer.Option(..., help="project code"),
        on: str | None = typer.Option(None, help="payment date YYYY-MM-DD (default today)"),
        detach: bool = Detach, as_json: bool = AsJson) -> None:
    """Pay every approved, unpaid claim of a project in one batch (a job). Safe to re-run."""
    when = _date(on, "on")
    job = submit(lambda db: starts.payment_batch(db, project_code=project, actor=SYSTEM, on=when),
                 detach=detach, quiet=as_json)
    if job is None:
        return
    r = finished_or_fail(job)
    if as_json:
        typer.echo(json.dumps(r))
        return
    if r["batch_key"] is None:
        typer.echo(f"{r['project']}: nothing to pay")
    else:
        typer.echo(f"{r['batch_key']}: paid {r['claims']} claims, {r['total']} yuan")
    for x in r.get("refused", []):
        typer.echo(f"  not paid: {x['claim_number']} item {x['item_id']} ({x['benefit_code']}) "
                   f"approved {x['approved']}, above the {x['ceiling']} its benefit can still pay")


@app.command("triangle")
def triangle(project: str = typer.Option(..., help="project code"),
             basis: str = typer.Option("paid", help="paid | incurred"),
             as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD (default today)"),
             csv_out: bool = typer.Option(False, "--csv", help="long-format CSV"),
             as_json: bool = AsJson) -> None:
    """Cumulative claims triangle by accident quarter and development quarter."""
    with unit_of_work() as db:
        project_id = catalog_service.get_project(db, code=project).id
        cells = service.triangle(db, project_id=project_id, basis=basis,
                                 as_of=_date(as_of, "as_of"), today=shanghai_today())
    if csv_out:
        typer.echo(service.triangle_csv(cells), nl=False)
    elif as_json:
        typer.echo(json.dumps([{"origin": o, "development": d, "value": f"{v:.2f}"}
                               for o, d, v in cells]))
    else:
        for o, d, v in cells:
            typer.echo(f"{o}  dev {d:>2}  {v:>14.2f}")


@app.command("published")
def published(project: str = typer.Option(..., help="project code"),
              limit: int = typer.Option(50), offset: int = typer.Option(0),
              as_json: bool = AsJson) -> None:
    """The project's paid claims as published to members, anonymised."""
    with unit_of_work() as db:
        rows, total = service.published(db, project_code=project, limit=limit, offset=offset)
    if as_json:
        typer.echo(json.dumps({"total": total, "items": [r.model_dump(mode="json") for r in rows]},
                              ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"{r.paid_on}  {r.name:<4} {r.age_band:<6} {r.city:<6} {r.event_type:<12} "
                   f"{r.amount_paid:>12.2f}")
