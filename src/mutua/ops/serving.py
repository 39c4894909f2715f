"""Several uvicorn worker processes, each accepting connections on a socket of its own.

Why not uvicorn's own ``--workers``: its supervisor binds one listening socket and its workers
share it, and the worker that wakes first takes every connection waiting. Keep-alive
connections stay where they landed, so a burst of clients (a proxy's upstream pool, or wrk's
32) can sit mostly on one worker while the other idles: measured, 26 of 32 on one worker and
enrolment p99 94-169 ms, where two servers given 16 each held 92-95 ms (docs/performance.md).

Here each worker binds its own socket to the same address with ``SO_REUSEPORT`` (Linux 3.9+),
and the kernel gives each new connection to one of them by a hash of its addresses: an even
split on average, whatever the workers are doing. uvicorn has no option for this; its public
``Server.run(sockets=...)`` serves on sockets it is given, which is all this needs. The
supervisor below does what uvicorn's does for us: starts the workers, starts a worker again
when one dies, and stops them all on SIGTERM, SIGINT or SIGHUP.

The cost: connections waiting in a worker's own queue when it dies are reset (clients retry)
where a shared socket would have kept them for the others. Where ``SO_REUSEPORT`` is
missing (not Linux) or one worker is asked for, uvicorn serves as it always did.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass

APP = "mutua.web.app:create_app"
BACKLOG = 2048  # uvicorn's default
STOP_SECONDS = 30  # a worker's in-flight requests finish within this on SIGTERM
# A worker's exit status when it never started serving (a bad setting, the app cannot be
# built): starting it again would fail the same way, so the server stops. uvicorn's own.
STARTUP_FAILURE = 3

logger = logging.getLogger("uvicorn.error")  # the supervisor speaks in uvicorn's log


@dataclass(frozen=True)
class Listen:
    host: str
    port: int
    log_level: str = "info"
    access_log: bool = False
    # Behind a proxy: the client's address and scheme from its X-Forwarded-* headers,
    # trusted from these addresses only (None: uvicorn's $FORWARDED_ALLOW_IPS or 127.0.0.1).
    proxy_headers: bool = True
    forwarded_allow_ips: str | None = None
    app: str = APP  # an app factory, "module:function"

    def uvicorn_options(self) -> dict:
        return {"factory": True, "log_level": self.log_level, "access_log": self.access_log,
                "proxy_headers": self.proxy_headers,
                "forwarded_allow_ips": self.forwarded_allow_ips}


def serve(listen: Listen, workers: int) -> int:
    """Serve until SIGTERM, SIGINT or SIGHUP; the exit status."""
    import uvicorn

    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(listen.app, host=listen.host, port=listen.port, workers=workers,
                    **listen.uvicorn_options())
        return 0
    try:
        # Bound without SO_REUSEPORT, so a server already on the port (a second `mutua
        # serve` included, which would otherwise join the group and take half the traffic)
        # is refused here, once, rather than in each worker.
        _socket(listen, shared=False).close()
    except OSError as exc:
        print(f"cannot listen on {listen.host}:{listen.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return Supervisor(listen, workers).run()


def _socket(listen: Listen, *, shared: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT, as uvicorn
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((listen.host, listen.port))
    return sock


def _worker(listen: Listen) -> None:
    """One worker process: its own socket in the port's group, one uvicorn server on it."""
    import uvicorn

    sock = _socket(listen, shared=True)
    sock.listen(BACKLOG)
    config = uvicorn.Config(listen.app, backlog=BACKLOG, **listen.uvicorn_options())
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except BaseException:
        if server.started:
            raise
        logger.exception("a worker could not start")
    if not server.started:
        sys.exit(STARTUP_FAILURE)


class Supervisor:
    """Keeps ``workers`` worker processes serving until told to stop."""

    def __init__(self, listen: Listen, workers: int) -> None:
        self.listen = listen
        self.count = workers
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.stopping = False
        self.failed = False

    def run(self) -> int:
        import uvicorn

        uvicorn.Config(self.listen.app, log_level=self.listen.log_level).configure_logging()
        # SIGHUP too (a closed terminal): the supervisor must not die and leave its workers
        # serving without it.
        stops = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        before = {sig: signal.signal(sig, self._stop) for sig in stops}
        try:
            self.processes = [self._start() for _ in range(self.count)]
            logger.info("serving on %s:%s with %d workers, each on its own socket "
                        "(SO_REUSEPORT)", self.listen.host, self.listen.port, self.count)
            while not self.stopping:
                time.sleep(0.5)
                self._replace_the_dead()
        finally:
            self._stop_all()
            for sig, handler in before.items():
                signal.signal(sig, handler)
        return 1 if self.failed else 0

    def _start(self) -> multiprocessing.process.BaseProcess:
        process = multiprocessing.get_context("spawn").Process(
            target=_worker, args=(self.listen,), name="mutua-worker")
        process.start()
        return process

    def _replace_the_dead(self) -> None:
        for i, process in enumerate(self.processes):
            if process.is_alive() or self.stopping:
                continue
            if process.exitcode == STARTUP_FAILURE:
                logger.error("worker %s could not start: stopping", process.pid)
                self.failed = self.stopping = True
                return
            logger.warning("worker %s died (exit status %s): starting another", process.pid,
                           process.exitcode)
            self.processes[i] = self._start()

    def _stop(self, signum, _frame) -> None:
        self.stopping = True

    def _stop_all(self) -> None:
        for process in self.processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)  # uvicorn finishes what it has in hand
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
