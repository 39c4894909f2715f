"""`mutua governance ...`: proposals, tallies, opening and closing votes, rating summaries."""

from __future__ import annotations

import json

import typer

from mutua.auth.security import SYSTEM
from mutua.db import unit_of_work
from mutua.governance import ratings, service
from mutua.governance.schemas import scope_of

app = typer.Typer(help="Member governance (会员治理): proposals, votes, meetings, ratings.",
                  no_args_is_help=True)

AS_JSON = typer.Option(False, "--json", help="print machine-readable JSON")


def _row(p) -> dict:
    return {"id": p.id, "kind": p.kind, "scope": scope_of(p.project_id), "status": p.status,
            "title_zh": p.title_zh, "title_en": p.title_en, "passed": p.passed,
            "enactment_status": p.enactment_status}


@app.command("proposals")
def proposals(status: str = typer.Option(None, help="draft | open | closed"),
              limit: int = typer.Option(200, min=1, max=10_000), as_json: bool = AS_JSON) -> None:
    """List proposals with id, kind, scope and status (newest first)."""
    with unit_of_work() as db:
        items, _ = service.list_proposals(db, actor=SYSTEM, status=status, limit=limit)
        rows = [_row(p) for p in items]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"{r['id']:>5}  {r['kind']:<10} {r['scope']:<12} {r['status']:<7} "
                   f"{r['title_en']}")


@app.command("tally")
def tally(proposal: int, as_json: bool = AS_JSON) -> None:
    """The published result of a closed proposal."""
    with unit_of_work() as db:
        result = service.published_result(db, proposal_id=proposal, actor=SYSTEM)
    out = {k: result[k] for k in ("eligible", "turnout", "quorum_met", "options", "passed",
                                  "elected", "tie", "enactment_status")}
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    typer.echo(f"eligible {out['eligible']}, turnout {out['turnout']}, quorum "
               f"{'met' if out['quorum_met'] else 'NOT met'}, "
               f"{'PASSED' if out['passed'] else 'not passed'}")
    for o in out["options"]:
        typer.echo(f"  {o['option']:<12} {o['votes']}")


@app.command("open")
def open_(proposal: int, as_json: bool = AS_JSON) -> None:
    """Open voting now; the electorate is frozen at this moment."""
    with unit_of_work() as db:
        p = service.open_proposal(db, proposal_id=proposal, actor=SYSTEM)
        row = {**_row(p), "eligible": p.eligible}
    typer.echo(json.dumps(row, ensure_ascii=False) if as_json
               else f"proposal {row['id']} open, {row['eligible']} eligible")


@app.command("close")
def close(proposal: int, as_json: bool = AS_JSON) -> None:
    """Close voting (after the window), publish the tally, enact if passed."""
    with unit_of_work() as db:
        p = service.close_proposal(db, proposal_id=proposal, actor=SYSTEM)
        row = {**_row(p), "result": p.result}
    typer.echo(json.dumps(row, ensure_ascii=False) if as_json
               else f"proposal {row['id']} closed: {'passed' if row['passed'] else 'not passed'}"
                    f", enactment {row['enactment_status']}")


@app.command("ratings")
def rating_summary(project: int = typer.Option(None, help="a project id"),
                   by_month: bool = typer.Option(False, "--by-month"),
                   as_json: bool = AS_JSON) -> None:
    """Average service ratings per project, service and team."""
    with unit_of_work() as db:
        rows = ratings.summary(db, project_id=project, by_month=by_month)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"project {r['project_id']:<4} {r['service']:<13} {r['team']:<10} "
                   f"{r.get('month', ''):<8} n={r['count']:<6} avg={r['average']:.2f}")
