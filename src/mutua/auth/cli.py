"""`mutua users ...`: staff accounts."""

from __future__ import annotations

import json

import typer
from sqlalchemy import select

from mutua.auth.models import User
from mutua.auth.roles import STAFF_ROLES, Role
from mutua.db import unit_of_work
from mutua.errors import ValidationFailed
from mutua.members import accounts

app = typer.Typer(help="Staff and member login accounts.", no_args_is_help=True)


@app.command("add")
def add(username: str = typer.Option(...), role: str = typer.Option(..., help="staff role"),
        name: str | None = typer.Option(None, help="display name"),
        password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
        as_json: bool = typer.Option(False, "--json")) -> None:
    """Create a staff account with a role."""
    try:
        staff_role = Role(role)
    except ValueError:
        raise ValidationFailed("role", f"must be one of {', '.join(sorted(STAFF_ROLES))}") from None
    if staff_role not in STAFF_ROLES:
        raise ValidationFailed("role", "member logins are created with the member")
    with unit_of_work() as db:
        user = accounts.create_user(db, username=username, password=password, role=staff_role,
                                   display_name=name)
        out = {"id": user.id, "username": user.username, "role": user.role}
    typer.echo(json.dumps(out) if as_json else f"created {username} ({role})")


@app.command("list")
def list_users(as_json: bool = typer.Option(False, "--json")) -> None:
    """Staff accounts and their roles."""
    with unit_of_work() as db:
        rows = [{"id": u.id, "username": u.username, "role": u.role, "active": u.active}
                for u in db.scalars(select(User).where(User.role != Role.MEMBER.value)
                                    .order_by(User.username))]
    if as_json:
        typer.echo(json.dumps({"users": rows}))
        return
    for r in rows:
        typer.echo(f"{r['username']:<20} {r['role']}")


@app.command("password")
def password(username: str = typer.Argument(..., help="the account's username or member number"),
             new_password: str = typer.Option(..., "--password", prompt=True, hide_input=True,
                                              confirmation_prompt=True),
             as_json: bool = typer.Option(False, "--json")) -> None:
    """Give an account a new password; its tokens and page sessions end at once."""
    with unit_of_work() as db:
        user = accounts.set_password(db, username=username, password=new_password)
        out = {"id": user.id, "username": user.username}
    typer.echo(json.dumps(out) if as_json else f"new password set for {out['username']}")


@app.command("deactivate")
def deactivate(username: str = typer.Argument(...),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """Deactivate an account: it cannot sign in, and its tokens and sessions are refused."""
    _set_active(username, False, as_json)


@app.command("activate")
def activate(username: str = typer.Argument(...),
             as_json: bool = typer.Option(False, "--json")) -> None:
    """Let a deactivated account sign in again."""
    _set_active(username, True, as_json)


def _set_active(username: str, active: bool, as_json: bool) -> None:
    with unit_of_work() as db:
        user = accounts.set_active(db, username=username, active=active)
        out = {"id": user.id, "username": user.username, "active": user.active}
    typer.echo(json.dumps(out) if as_json else
               f"{out['username']} is {'active' if active else 'deactivated'}")
