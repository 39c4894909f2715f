"""`python -m benchmarks import_members` at 3,000 rows, twice on the same database."""

from __future__ import annotations

import json

from benchmarks import import_members


def test_the_import_benchmark_runs_again_on_the_database_it_left(bench_url, capsys):
    backend, url = bench_url
    for _ in range(2):  # the second run empties a database `mutua init` made (queue included)
        assert import_members.main(["--rows", "3000", "--db", backend, "--url", url,
                                    "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["rows"] == 3000 and out["enrolled"] + out["bad"] == 3000, out
        assert 0 < out["bad"] < 100 and out["rows_per_second"] > 0
