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


def test_a_saved_group_file_imports_as_the_one_made_in_the_run(bench_url, capsys, tmp_path):
    """--save writes the file and stops; --file imports it in a process that never made it
    (its peak memory is then the import's)."""
    backend, url = bench_url
    saved = tmp_path / "group.csv"
    assert import_members.main(["--rows", "2000", "--save", str(saved)]) == 0
    assert capsys.readouterr().out == "" and saved.read_bytes().count(b"\n") == 2001
    made = []
    for source in (["--rows", "2000"], ["--file", str(saved)]):
        assert import_members.main([*source, "--db", backend, "--url", url, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        made.append((out["rows"], out["enrolled"], out["bad"], out["bytes"]))
    assert made[0] == made[1] and made[0][0] == 2000
