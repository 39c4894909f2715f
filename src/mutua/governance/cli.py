"""`mutua governance ...`: Member governance: proposals, votes, meetings, ratings."""

import typer

app = typer.Typer(help="Member governance: proposals, votes, meetings, ratings.", no_args_is_help=True)
