"""`mutua policies ...`: Enrolment and policies (保单)."""

import typer

app = typer.Typer(help="Enrolment and policies (保单).", no_args_is_help=True)
