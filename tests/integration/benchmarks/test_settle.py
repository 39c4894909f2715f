"""`python -m benchmarks settle` at 20,000 policies, read in ranges of 3,000 policy ids."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import text

from benchmarks import settle
from mutua.db import make_engine
from mutua.settlement import uplift


def test_the_close_benchmark_runs_and_matches_its_sql_baseline(bench_url, capsys, monkeypatch):
    backend, url = bench_url
    monkeypatch.setattr(uplift, "CHUNK_POLICIES", 3_000)  # seven ranges
    assert settle.main(["--policies", "20000", "--claims", "1000", "--db", backend,
                        "--url", url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["totals_match"], out
    assert out["policies_uplifted"] > 19_000  # all but the cancelled and those near their end
    assert Decimal(out["sum_insured_added"]) > 0 and out["peak_memory_mb"] > 0


def test_several_sizes_in_one_run_print_the_peak_memory_after_each(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'settle.db'}"
    assert settle.main(["--sizes", "2000,4000", "--db", "sqlite", "--url", url, "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["policies"] for r in runs] == [2000, 4000]
    assert [r["claims"] for r in runs] == [100, 200]
    assert all(r["totals_match"] and r["peak_memory_mb"] > 0 for r in runs)
    assert (tmp_path / "settle-2000.db").exists() and (tmp_path / "settle-4000.db").exists()


def test_the_close_with_uplifts_by_quarter_matches_its_baseline(bench_url, capsys):
    """The experiment behind docs/performance.md "Uplifts by quarter" (PostgreSQL only)."""
    backend, url = bench_url
    if backend != "postgres":
        pytest.skip("partitioning is PostgreSQL's")
    assert settle.main(["--policies", "2000", "--claims", "100", "--db", backend, "--url", url,
                        "--uplifts-by-quarter", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["uplifts_by_quarter"] and out["totals_match"], out
    assert out["uplift_rows"] > 0 and out["policies_uplifted"] > 1_900, out
    engine = make_engine(url)
    with engine.connect() as conn:  # the close wrote into the quarter's partition
        assert conn.scalar(text("SELECT count(*) FROM sum_insured_uplifts_2025q3")) > 0
    engine.dispose()
