"""`mutua members ...`: register, look up, validate ID numbers, bulk import."""

from __future__ import annotations

import json

import typer

from mutua.auth.security import SYSTEM
from mutua.db import unit_of_work
from mutua.members import service
from mutua.members.router import check_id
from mutua.members.schemas import MemberIn

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
    from mutua.auth.roles import Role
    from mutua.auth.security import Principal

    viewer = Principal(user_id=0, username="operator", role=Role.FINANCE)
    with unit_of_work() as db:
        rows, _ = service.search(db, query=member_number, limit=1, offset=0)
        if not rows:
            from mutua.errors import NotFound

            raise NotFound(f"no member {member_number}")
        out = service.to_out(rows[0], viewer=viewer)
    typer.echo(out.model_dump_json() if as_json else json.dumps(out.model_dump(mode="json"),
                                                                 ensure_ascii=False, indent=2))
