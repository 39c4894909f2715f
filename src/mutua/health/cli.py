"""`mutua health ...`: Kidney-disease monitoring: eGFR, staging, risk, alerts."""

import typer

app = typer.Typer(help="Kidney-disease monitoring: eGFR, staging, risk, alerts.", no_args_is_help=True)
