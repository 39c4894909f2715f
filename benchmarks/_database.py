"""The database a benchmark runs on: a SQLite file in a temporary folder, or the PostgreSQL
database named by --url (or MUTUA_BENCH_POSTGRES_URL, then MUTUA_TEST_POSTGRES_URL), which the
benchmark empties."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", help="PostgreSQL URL (emptied first)")


def url_of(args, parser: argparse.ArgumentParser, folder: str, name: str = "bench.db") -> str:
    if args.db == "sqlite":
        return f"sqlite:///{Path(folder) / name}"
    url = (args.url or os.environ.get("MUTUA_BENCH_POSTGRES_URL")
           or os.environ.get("MUTUA_TEST_POSTGRES_URL"))
    if not url:
        parser.error("--db postgres needs --url or MUTUA_BENCH_POSTGRES_URL")
    return url
