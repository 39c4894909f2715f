"""`python -m benchmarks audit_partitions` at 2,000 events over two years (PostgreSQL only)."""

from __future__ import annotations

import json

import pytest

from benchmarks import audit_partitions


def test_both_ways_take_out_the_same_year(bench_url, capsys):
    backend, url = bench_url
    if backend != "postgres":
        pytest.skip("partitioning is PostgreSQL's")
    assert audit_partitions.main(["--rows", "2000", "--years", "2", "--batch", "500",
                                  "--url", url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    plain, by_month = out["plain"], out["partitioned"]
    assert plain["year_rows"] == by_month["year_rows"], out
    assert plain["rows_left"] == by_month["rows_left"] == 2000 - plain["year_rows"], out
    assert 900 < plain["year_rows"] < 1100, out  # the older of two years (one may be leap)
    assert by_month["rows_per_second"] > 0 and plain["newest_page_ms"] > 0
