"""`mutua catalog ...`: load product definitions and list the catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mutua.auth.security import SYSTEM
from mutua.catalog import service
from mutua.db import unit_of_work
from mutua.errors import ValidationFailed

app = typer.Typer(help="Projects, products, periods and benefits (产品目录).", no_args_is_help=True)


@app.command("load")
def load(file: Path, as_json: bool = typer.Option(False, "--json")) -> None:
    """Load a project and its products from a YAML definition; a bad file is refused whole."""
    if not file.is_file():
        raise ValidationFailed("file", f"{file} does not exist")
    defn = service.parse_definition(file.read_text(encoding="utf-8"))
    with unit_of_work() as db:
        products = service.load_definition(db, defn=defn, actor=SYSTEM)
        codes = [p.code for p in products]
    out = {"project": defn.project.code, "products": codes}
    typer.echo(json.dumps(out) if as_json else f"loaded {defn.project.code}: {', '.join(codes)}")


@app.command("projects")
def projects(as_json: bool = typer.Option(False, "--json")) -> None:
    """List projects with their codes and products."""
    with unit_of_work() as db:
        rows = [{"code": p.code, "name_zh": p.name_zh, "name_en": p.name_en,
                 "status": p.status, "products": [x.code for x in p.products]}
                for p in service.list_projects(db)]
    if as_json:
        typer.echo(json.dumps({"projects": rows}, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"{r['code']:<20} {r['name_zh']}  ({', '.join(r['products'])})")
