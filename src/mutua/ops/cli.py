"""Top-level operator commands: `mutua init`, `mutua serve`, `mutua demo`, users."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.command("demo")(demo)


def init() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from mutua import schema
    from mutua.settings import get_settings

    url = get_settings().database_url
    schema.upgrade(url)
    typer.echo(f"schema is up to date at {url.split('@')[-1]}")


def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          workers: int = typer.Option(1)) -> None:
    """Serve the API and pages with uvicorn."""
    import uvicorn

    uvicorn.run("mutua.web.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="info")


def demo(seed: int = typer.Option(7, help="random seed: the same seed builds the same mutual"),
         members: int = typer.Option(20000, help="number of synthetic members"),
         fresh: bool = typer.Option(True, help="drop the existing database first"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Build a deterministic synthetic mutual in the configured database."""
    from mutua.demo import builder

    summary = builder.build(seed=seed, members=members, fresh=fresh, progress=not as_json)
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=None if as_json else 2))
