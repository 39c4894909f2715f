"""`mutua settle ...`: run the quarterly close, print statements, list closed quarters."""

from __future__ import annotations

import json

import typer

from mutua.auth.security import SYSTEM
from mutua.db import unit_of_work
from mutua.jobs import starts
from mutua.jobs.cli import Detach, finished_or_fail, submit
from mutua.settlement import capital, export, movements, service

app = typer.Typer(help="Quarterly close and surplus sharing (结余共享).", no_args_is_help=True)
AsJson = typer.Option(False, "--json", help="print machine-readable JSON")


def _print(statement: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(statement, ensure_ascii=False))
        return
    s = statement
    typer.echo(f"{s['project']} {s['quarter']}{'  (dry run)' if s.get('dry_run') else ''}")
    for key in ("earned_premium", "uplift_premium_earned", "claims_paid", "claims_payable_change",
                "case_reserve_change", "ibnr_change", "claims_incurred", "expenses", "result",
                "reserve_before", "reserve_set_aside", "reserve_drawn", "reserve_after",
                "deficit_before", "deficit_made_good", "deficit_after", "surplus",
                "undistributed_before", "distributable", "claims_payable"):
        if key in s:  # closes stored before a line existed do not carry it
            typer.echo(f"  {key:<24}{s[key]:>16}")
    for g in s["gates"]:
        typer.echo(f"  [{'ok' if g['passed'] else 'held'}] {g['name']}: {g['reason']}")
    a = s["allocations"]
    typer.echo(f"  uplift {a['uplift']}  carried {a.get('carried', '0.00')}  aid {a['aid']}  "
               f"services {a['services']}")
    if "uplift_rate_percent" in s:
        typer.echo(f"  every eligible policy's sum insured rose by {s['uplift_rate_percent']}% "
                   f"from {s['uplift_effective_from']}"
                   f"{' (the cap)' if s.get('uplift_rate_capped') else ''}")
    typer.echo(f"  {s['policies_uplifted']} policies uplifted, "
               f"{s['sum_insured_added']} yuan of sum insured added")


@app.command("run")
def run(project: str = typer.Option(..., help="project code"),
        quarter: str = typer.Option(..., help="quarter to close, e.g. 2026Q3"),
        dry_run: bool = typer.Option(False, "--dry-run", help="show the result, write nothing"),
        detach: bool = Detach, as_json: bool = AsJson) -> None:
    """Close a project's quarter and share its surplus: a job (one transaction), waited for
    with a progress bar unless --detach."""
    if dry_run:
        with unit_of_work() as db:
            statement = service.close_quarter(db, project_code=project, quarter=quarter,
                                              actor=SYSTEM, dry_run=True)
            db.rollback()
        _print(statement, as_json)
        return
    job = submit(lambda db: starts.close(db, project_code=project, quarter=quarter,
                                         actor=SYSTEM), detach=detach, quiet=as_json)
    if job is not None:
        _print(finished_or_fail(job), as_json)


@app.command("report")
def report(project: str = typer.Option(...), quarter: str = typer.Option(...),
           as_json: bool = AsJson) -> None:
    """The project statement of a closed quarter."""
    with unit_of_work() as db:
        statement = service.project_statement(db, project_code=project, quarter=quarter,
                                              actor=SYSTEM)
    _print(statement, as_json)


@app.command("list")
def list_closes(project: str | None = typer.Option(None), limit: int = typer.Option(100),
                offset: int = typer.Option(0), as_json: bool = AsJson) -> None:
    """Closed quarters, by project and quarter."""
    with unit_of_work() as db:
        items, total = service.list_closes(db, project_code=project, limit=limit, offset=offset)
    if as_json:
        typer.echo(json.dumps({"total": total, "items": items}, ensure_ascii=False))
        return
    for i in items:
        rate = f"{i['uplift_rate_percent']}%" if i.get("uplift_rate_percent") else "-"
        typer.echo(f"{i['project']:<20}{i['quarter']}  result {i['result'] or '-':>14}  "
                   f"surplus {i['surplus']:>14}  distributable {i['distributable']:>14}  "
                   f"rate {rate:>8}  uplifted {i['policies_uplifted']}")


@app.command("movements")
def reserve_movements(project: str = typer.Option(...), quarter: str = typer.Option(...),
                      as_json: bool = AsJson) -> None:
    """Reserve movements of a project's quarter: opening + movements = closing, from the books."""
    with unit_of_work() as db:
        report = movements.movement_report(db, project_code=project, quarter=quarter)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    typer.echo(f"{report['project']} {report['quarter']}")
    for line in report["lines"]:
        tie = "" if line["ties"] is None else ("  ties" if line["ties"] else "  DOES NOT TIE")
        typer.echo(f"  {line['line']:<26}{line['opening']:>16}  ->{line['closing']:>16}{tie}")
        for m in line["movements"]:
            typer.echo(f"    {m['kind']:<28}{m['amount']:>16}")


@app.command("export")
def export_quarter(project: str = typer.Option(...), quarter: str = typer.Option(...),
                   out: str = typer.Option(..., help="path of the zip to write"),
                   as_json: bool = AsJson) -> None:
    """Write the quarter's ledger, policies, claims and reserves (CSV, with a data
    dictionary) into one zip for auditors and the regulator."""
    with unit_of_work() as db, open(out, "wb") as f:
        counts = export.write(db, f, project_code=project, quarter=quarter, actor=SYSTEM)
    typer.echo(json.dumps({"file": out, "rows": counts}) if as_json
               else f"{out}: " + ", ".join(f"{k} {v} rows" for k, v in counts.items()))


@app.command("solvency")
def solvency_report(quarter: str = typer.Option(...), as_json: bool = AsJson) -> None:
    """The mutual's C-ROSS solvency report for a quarter, project by project."""
    with unit_of_work() as db:
        report = capital.solvency_report(db, quarter=quarter)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    demo = "  (demo factors: not for filing)" if report["factors_demo"] else ""
    typer.echo(f"solvency {report['quarter']}{demo}")
    for p in [{"project": "mutual", **report}, *report["projects"]]:
        typer.echo(f"  {p['project']:<16} actual {p['actual_capital']:>16} minimum "
                   f"{p['minimum_capital']:>14}  comprehensive "
                   f"{p['comprehensive_ratio_percent'] or '-':>8}%  core "
                   f"{p['core_ratio_percent'] or '-':>8}%  {'ok' if p['passed'] else 'BELOW'}")
    if report["not_closed"]:
        typer.echo(f"  not closed: {', '.join(report['not_closed'])}")
