"""Prometheus metrics at ``/metrics``: requests by route, latency, and a few business gauges.

Requests are labelled by the route *template* (``/api/v1/policies/{policy_id}``), never the
concrete path, so ids do not explode the number of series and no personal data reaches the
metrics store. Business gauges (members, policies, claims and open kidney alerts by status)
are aggregate counts, computed at scrape time and cached for ``GAUGE_TTL_SECONDS``; the job
gauges (queued, running, failed; waits and run times) come from :mod:`mutua.jobs.metrics`.

With several uvicorn workers set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder that all
workers share (docs/operations.md): each worker then writes its counters there and any worker
answers the scrape with the sum.

``/metrics`` carries no personal data and needs no sign-in, like ``/healthz``; the reverse
proxy keeps it off the public internet (the nginx example in docs/operations.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mutua.jobs.metrics import JobsCollector

GAUGE_TTL_SECONDS = 30.0
# Latency buckets around the 50 ms target (docs/performance.md).
BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# (gauge name, help, table): each counted by its status column.
BUSINESS_COUNTS = [
    ("mutua_members", "Members by status.", "members"),
    ("mutua_policies", "Policies by status.", "policies"),
    ("mutua_claims", "Claims by status.", "claims"),
    ("mutua_health_alerts", "Kidney-monitoring alerts by status.", "health_alerts"),
]


class HttpMetrics:
    """Request counter and latency histogram, registered in one registry per app."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "mutua_http_requests", "HTTP requests by method, route template and status.",
            ["method", "route", "status"], registry=registry)
        self.latency = Histogram(
            "mutua_http_request_duration_seconds", "Time to answer, by method and route template.",
            ["method", "route"], buckets=BUCKETS, registry=registry)


class MetricsMiddleware:
    """A plain ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path)."""

    def __init__(self, app, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_and_note(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = route_template(scope)
            method = scope.get("method", "")
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
            self.metrics.requests.labels(method, route, str(status["code"])).inc()


def route_template(scope) -> str:
    """The matched route's template, or a fixed label for paths that matched nothing."""
    # FastAPI keeps included routers by reference: the matched route's own path lacks the
    # router's prefix, the effective context it records in the scope has the full template.
    fastapi_scope = scope.get("fastapi")
    context = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    for route in (context, scope.get("route")):
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
        if path:
            return path
    return "static" if scope.get("path", "").startswith("/static") else "unmatched"


class BusinessCollector:
    """Counts by status of the tables that grow with members, cached between scrapes."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self._cached: list[Metric] = []
        self._at = -GAUGE_TTL_SECONDS

    def collect(self) -> Iterable[Metric]:
        now = time.monotonic()
        if now - self._at >= GAUGE_TTL_SECONDS:
            self._cached = list(self._measure())
            self._at = now
        return self._cached

    def _measure(self) -> Iterable[Metric]:
        for name, doc, table in BUSINESS_COUNTS:
            family = GaugeMetricFamily(name, doc, labels=["status"])
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(text(
                        f"SELECT status, count(*) FROM {table} GROUP BY status")).all()  # noqa: S608
            except SQLAlchemyError:
                continue  # a table this deployment does not have yet
            for status, count in rows:
                family.add_metric([str(status)], float(count))
            yield family


def install(app: FastAPI) -> None:
    """Count every request and serve ``GET /metrics`` in the Prometheus text format."""
    registry = CollectorRegistry()
    app.state.metrics = HttpMetrics(registry)
    business = [BusinessCollector(app.state.engine), JobsCollector(app.state.engine)]
    for collector in business:
        registry.register(collector)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics(request: Request) -> Response:
        return Response(generate_latest(_scrape_registry(registry, business)),
                        media_type=CONTENT_TYPE_LATEST)


def _scrape_registry(registry: CollectorRegistry, business: list) -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return registry
    from prometheus_client import multiprocess

    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)
    for collector in business:
        combined.register(collector)
    return combined
