"""`mutua ledger ...`: Per-project double-entry books (账本)."""

import typer

app = typer.Typer(help="Per-project double-entry books (账本).", no_args_is_help=True)
