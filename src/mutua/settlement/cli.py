"""`mutua settlement ...`: Quarterly close and surplus sharing (结余共享)."""

import typer

app = typer.Typer(help="Quarterly close and surplus sharing (结余共享).", no_args_is_help=True)
