"""`mutua actuarial ...`: Actuarial tools: earned premium, IBNR, credibility."""

import typer

app = typer.Typer(help="Actuarial tools: earned premium, IBNR, credibility.", no_args_is_help=True)
