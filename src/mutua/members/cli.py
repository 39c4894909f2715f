"""`mutua members ...`: register, look up, validate ID numbers, bulk import."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.db import unit_of_work
from mutua.errors import NotFound, ValidationFailed
from mutua.jobs import starts
from mutua.jobs.cli import Detach, finished_or_fail, submit
from mutua.members import service
from mutua.members.router import check_id
from mutua.members.schemas import MemberIn
from mutua.settings import get_settings

app = typer.Typer(help="Members (会员): registration, ID checks, bulk enrolment.",
                  no_args_is_help=True)


@app.command("validate-id")
def validate_id(id_number: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Check a resident ID number (GB 11643); exit 0 if valid, 1 if not."""
    result = check_id(id_number)
    if as_json:
        typer.echo(result.model_dump_json())
    else:
        typer.echo(f"valid, born {result.birth_date}, sex {result.sex}" if result.valid
                   else f"invalid: {result.reason}")
    raise typer.Exit(0 if result.valid else 1)


@app.command("register")
def register(
    name: str = typer.Option(...), id_number: str = typer.Option(..., "--id-number"),
    phone: str = typer.Option(...), occupation: str = typer.Option(..., help="occupation code"),
    city: str = typer.Option(...), password: str | None = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Register one member."""
    data = MemberIn(name=name, id_number=id_number, phone=phone, occupation_code=occupation,
                    city=city, password=password)
    with unit_of_work() as db:
        out = service.to_out(service.register(db, data=data, actor=SYSTEM), viewer=SYSTEM)
    typer.echo(out.model_dump_json() if as_json else f"registered {out.member_number}")


@app.command("show")
def show(member_number: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show one member by member number (ID masked)."""

    viewer = Principal(user_id=0, username="operator", role=Role.FINANCE)
    with unit_of_work() as db:
        member = service.find_by_number(db, member_number)
        if member is None:
            raise NotFound(f"no member {member_number}")
        out = service.to_out(member, viewer=viewer)
    typer.echo(out.model_dump_json() if as_json else json.dumps(out.model_dump(mode="json"),
                                                                 ensure_ascii=False, indent=2))


@app.command("import")
def import_file(
    file: Path,
    product: str = typer.Option(..., "--product", help="product code, e.g. SZNC-BASIC"),
    period: str = typer.Option(..., "--period", help="sale period code, e.g. 2026Q4"),
    all_or_nothing: bool = typer.Option(False, "--all-or-nothing",
                                        help="enrol nobody if any row is bad"),
    logins: bool = typer.Option(False, "--logins", help="a login for every member, first "
                                "sign-in by SMS code"),
    detach: bool = Detach,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Enrol a group from CSV or .xlsx (columns name,id_number,phone,occupation_code,city).

    Runs as a job, waited for with a progress bar unless --detach. Prints each bad row with
    its reasons and the throughput; exits 0 when every row was enrolled, 1 when some rows
    were bad, 2 when the file itself is refused.
    """

    if not file.is_file():
        raise ValidationFailed("file", f"{file} does not exist")
    limit = get_settings().import_max_bytes
    if file.stat().st_size > limit:
        raise ValidationFailed("file", f"is {file.stat().st_size:,} bytes; the limit is {limit:,} bytes")
    data = file.read_bytes()
    job = submit(lambda db: starts.member_import(
        db, data=data, filename=file.name, product_code=product, period_code=period,
        actor=SYSTEM, all_or_nothing=all_or_nothing, logins=logins), detach=detach,
        quiet=as_json)
    if job is None:
        return
    report = (job.get("error") or {}).get("report")  # all or nothing, refused: its report
    if report is None:
        report = finished_or_fail(job)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        _print_report(report)
    raise typer.Exit(1 if report["bad_rows"] else 0)


def _print_report(d: dict, shown: int = 20) -> None:
    verdict = ("nothing stored (all or nothing)" if not d["stored"]
               else f"enrolled {d['enrolled']:,} ({d['registered']:,} new members, "
                    f"{d['reused']:,} already members), premiums {d['premium_total']}")
    typer.echo(f"{d['rows']:,} rows, {d['bad']:,} bad: {verdict}; "
               f"{d['seconds']} s, {d['rows_per_second']:,} rows/s")
    for bad in d["bad_rows"][:shown]:
        reasons = "; ".join(f"{p['field']}: {p['rule']}" for p in bad["problems"])
        typer.echo(f"  row {bad['row']}: {reasons}")
    if len(d["bad_rows"]) > shown:
        typer.echo(f"  ... and {len(d['bad_rows']) - shown:,} more bad rows (see --json)")
