"""Scaled-down runs of the benchmarks, so they cannot rot: the slow, full-size runs stay
out of `make test` (docs/performance.md has their figures and commands)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import BACKENDS, PG_URL, _create_database_if_absent


@pytest.fixture(params=BACKENDS)
def bench_url(request, tmp_path) -> tuple[str, str]:
    """(backend, URL) of a database of the benchmark's own: it drops and builds its schema,
    so never the tests' database (on PostgreSQL ``<test db>_bench``)."""
    if request.param == "sqlite":
        return "sqlite", f"sqlite:///{tmp_path / 'bench.db'}"
    u = make_url(PG_URL)
    url = u.set(database=f"{u.database}_bench").render_as_string(hide_password=False)
    _create_database_if_absent(url)
    return "postgres", url
