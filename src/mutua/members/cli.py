"""`mutua members ...`: Members (会员): registration, ID checks, bulk enrolment."""

import typer

app = typer.Typer(help="Members (会员): registration, ID checks, bulk enrolment.", no_args_is_help=True)
