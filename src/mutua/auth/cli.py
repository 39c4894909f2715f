"""`mutua users ...`: staff accounts."""

import typer

app = typer.Typer(help="Staff and member login accounts.", no_args_is_help=True)
