"""`mutua serve --workers 2`: each worker accepts on a socket of its own (SO_REUSEPORT), so
connections spread over the workers; a worker that dies is replaced; SIGTERM stops them all;
a port already served is refused (mutua.ops.serving)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.http_load import children, connections_held
from mutua.ops import serving

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="SO_REUSEPORT's spread and /proc are Linux's")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    from mutua import schema

    url = f"sqlite:///{tmp_path_factory.mktemp('serve')}/mutua.db"
    schema.upgrade(url)
    return url


def _serve(database: str, folder: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "MUTUA_DATABASE_URL": database, "MUTUA_SECRET_KEY": "s" * 64}
    with open(folder / f"serve-{port}.log", "a") as log:  # a pipe left unread would fill
        return subprocess.Popen(
            [sys.executable, "-c", "from mutua.cli import main; main()", "serve", "--port",
             str(port), "--workers", "2"],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _workers(supervisor: subprocess.Popen) -> set[int]:
    """The supervisor's worker processes (not the resource tracker multiprocessing starts)."""
    workers = set()
    for pid in children(supervisor.pid):
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                workers.add(pid)
        except OSError:
            continue
    return workers


def _until(check, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {check}")


@pytest.fixture
def server(database, tmp_path):
    port = _free_port()
    proc = _serve(database, tmp_path, port)
    try:
        _until(lambda: _answers(port) and len(_workers(proc)) == 2)
        yield proc, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_connections_spread_over_the_workers_each_on_its_own_socket(server):
    proc, port = server
    clients = []
    try:
        for _ in range(64):  # keep-alive clients, as a proxy's pool or wrk keeps them
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            clients.append(conn)
        counts = connections_held(_workers(proc), port)
        # Each worker holds some: under a shared socket one worker can take them all; with a
        # socket each, all 64 on one worker has odds of 2^-63.
        assert sum(counts.values()) == 64, counts
        assert all(n > 0 for n in counts.values()), counts
    finally:
        for conn in clients:
            conn.close()


def test_a_worker_that_dies_is_replaced_and_the_port_keeps_answering(server):
    proc, port = server
    first = _workers(proc)
    killed = min(first)
    os.kill(killed, signal.SIGKILL)
    replaced = _until(lambda: (w := _workers(proc)) - first and len(w) == 2 and w, seconds=30)
    assert killed not in replaced
    assert all(_answers(port) for _ in range(20))


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_stops_the_workers_and_the_supervisor_cleanly(server, stop):
    proc, port = server
    workers = _workers(proc)
    os.kill(proc.pid, stop)
    assert proc.wait(timeout=60) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    assert not _answers(port)


def test_a_port_already_served_is_refused_not_shared(server, database, tmp_path):
    _proc, port = server
    second = _serve(database, tmp_path, port)
    assert second.wait(timeout=120) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in (tmp_path / f"serve-{port}.log").read_text()


def test_workers_that_cannot_start_stop_the_server_instead_of_restarting_for_ever():
    listen = serving.Listen("127.0.0.1", _free_port(), app="mutua.no_such_module:create_app")
    supervisor = serving.Supervisor(listen, 2)
    handler = signal.getsignal(signal.SIGTERM)
    assert supervisor.run() == 1
    assert not any(p.is_alive() for p in supervisor.processes)
    assert signal.getsignal(signal.SIGTERM) is handler  # the supervisor's own, put back
    assert {p.exitcode for p in supervisor.processes} <= {serving.STARTUP_FAILURE, -15}


def test_one_worker_is_uvicorns_own_server(monkeypatch):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.append((app, kw)))
    assert serving.serve(serving.Listen("127.0.0.1", 8000), workers=1) == 0
    assert started[0][0] == serving.APP and started[0][1]["workers"] == 1


def test_the_proxy_settings_reach_every_workers_server(monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from mutua.cli import app as cli_app

    asked = []
    monkeypatch.setattr(serving, "serve", lambda listen, workers: asked.append(listen) or 0)
    result = CliRunner().invoke(cli_app, ["serve", "--workers", "2", "--no-proxy-headers",
                                          "--forwarded-allow-ips", "10.0.0.7"])
    assert result.exit_code == 0, result.output
    config = uvicorn.Config(serving.APP, **asked[0].uvicorn_options())  # as _worker builds it
    assert config.proxy_headers is False and config.forwarded_allow_ips == "10.0.0.7"


@pytest.mark.parametrize("port", ["0", "65536", "-1"])
def test_a_port_outside_1_to_65535_is_refused_by_name(port, monkeypatch):
    from typer.testing import CliRunner

    from mutua.cli import app as cli_app

    monkeypatch.setattr(serving, "serve", lambda listen, workers: pytest.fail("served"))
    result = CliRunner().invoke(cli_app, ["serve", "--port", port])
    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.output
    assert ("less than or equal to 65535" in result.output
            or "greater than or equal to 1" in result.output)
