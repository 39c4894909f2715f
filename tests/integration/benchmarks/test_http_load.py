"""`python -m benchmarks http_load` scaled down: the server as shipped (`mutua serve`, two
workers on a socket each), wrk, the three scenarios, and how the connections sat on the
workers; and behind nginx's least_conn. Needs wrk and nginx (.ci/run installs them)."""

from __future__ import annotations

import json
import shutil

import pytest

from benchmarks import http_load

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk")


def test_the_http_load_benchmark_runs_its_scenarios_on_the_shipped_server(bench_url, capsys):
    backend, url = bench_url
    assert http_load.main(["--db", backend, "--url", url, "--members", "300",
                           "--enrol-max", "60", "--seconds", "1", "--enrol-seconds", "1",
                           "--connections", "4", "--sweep", "", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["workers"] == 2 and set(out["scenarios"]) == {"trivial", "policy_list", "enrol"}
    for name, scenario in out["scenarios"].items():
        assert scenario["requests"] > 0 and scenario["non_2xx"] == 0, (name, scenario)
        assert scenario["socket_errors"] == 0, (name, scenario)
    enrol = out["scenarios"]["enrol"]
    assert 0 < enrol["created"] <= 60
    # the four connections, each held by one of the two workers
    assert sum(enrol["connections_by_worker"]) == 4
    assert 1 <= len(enrol["connections_by_worker"]) <= 2


@pytest.mark.skipif(shutil.which("nginx") is None, reason="needs nginx")
def test_the_http_load_benchmark_runs_behind_nginx_least_conn(bench_url, capsys):
    backend, url = bench_url
    assert http_load.main(["--db", backend, "--url", url, "--members", "300",
                           "--enrol-max", "60", "--seconds", "1", "--enrol-seconds", "1",
                           "--connections", "4", "--sweep", "", "--balancer", "nginx",
                           "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["balancer"] == "nginx least_conn"
    for name, scenario in out["scenarios"].items():
        assert scenario["requests"] > 0 and scenario["non_2xx"] == 0, (name, scenario)
    assert out["scenarios"]["enrol"]["created"] > 0
    assert "connections_by_worker" not in out["scenarios"]["enrol"]  # nginx holds them
