"""`python -m benchmarks request_cost` on a 200-member demo: what one enrolment asks."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

from benchmarks import request_cost


def test_the_request_cost_benchmark_counts_what_an_enrolment_asks(bench_url, capsys):
    backend, url = bench_url

    async def where_a_loop_runs() -> int:
        # Called from inside a running loop, as in a test worker where Playwright's sync API
        # (tests/e2e) is started: the benchmark runs its own loop in a thread of its own.
        return request_cost.main(["--db", backend, "--url", url, "--members", "200",
                                  "--requests", "5", "--rounds", "2", "--enrolments", "5",
                                  "--json"])

    # Its own thread, so the test holds whether or not this worker's thread already has a
    # running loop (Playwright's, after tests/e2e): inside it the benchmark meets one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, where_a_loop_runs()).result() == 0
    out = json.loads(capsys.readouterr().out)
    cost = out["enrol_cost"]
    # one transaction in one thread trip, its caller read in it (deps.current_principal)
    assert cost["transactions"] == 1 and cost["thread_trips"] == 1, cost
    # PostgreSQL: the caller's account; the member, product and period with the coefficient
    # cells, the answer's codes and benefits and the new policy's id and number; the policy
    # with its premium, entry, postings and audit event. SQLite reads the cells and the
    # answer's catalogue on their own, draws the number from its counter and writes the
    # policy and the premium's rows one statement each.
    assert cost["statements"] == (3 if backend == "postgres" else 10), cost
    assert cost["app_cpu_ms"] > 0 and len(out["load_average"]) == 6
    assert ("server_cpu_ms" in cost) is (backend == "postgres")
