"""`mutua catalog ...`: Projects, products, periods and benefits (产品目录)."""

import typer

app = typer.Typer(help="Projects, products, periods and benefits (产品目录).", no_args_is_help=True)
