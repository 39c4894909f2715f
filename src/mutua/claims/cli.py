"""`mutua claims ...`: Claims (理赔): report, adjudicate, pay."""

import typer

app = typer.Typer(help="Claims (理赔): report, adjudicate, pay.", no_args_is_help=True)
