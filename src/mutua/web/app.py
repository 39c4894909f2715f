"""The application factory: the JSON API under /api/v1, the pages, /healthz and /docs."""

from __future__ import annotations

import functools
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from mutua import wiring  # noqa: F401  (joins the domains' hooks before any use case runs)
from mutua.actuarial.router import router as actuarial
from mutua.audit.router import router as audit
from mutua.auth.router import router as auth
from mutua.auth.signup_router import router as auth_signup
from mutua.catalog.router import router as catalog
from mutua.claims.router import router as claims
from mutua.complaints.router import router as calendar
from mutua.db import make_engine, session_factory
from mutua.deps import REFUSALS, Router, caller_refused
from mutua.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    Problem,
    TooLarge,
    Unauthorized,
    ValidationFailed,
    field_path,
)
from mutua.governance.router import router as governance
from mutua.health.router import router as health
from mutua.jobs import worker
from mutua.jobs.router import router as jobs
from mutua.ledger.router import router as ledger
from mutua.members.router import router as members
from mutua.ops import logs
from mutua.policies.enrolment_router import router as enrolment
from mutua.policies.router import router as policies
from mutua.premiums.router import router as premiums
from mutua.reinsurance.router import router as reinsurance
from mutua.settings import Settings, get_settings
from mutua.settlement.router import router as settlement
from mutua.web import docs, metrics, pages
from mutua.web.body_guard import BodyGuard, BodyTooLarge, body_over
from mutua.web.headers import SecurityHeaders


@functools.cache
def api_router() -> Router:
    """The JSON API's routes under /api/v1, built once per process.

    FastAPI resolves each endpoint's parameters and dependencies for the router it is given
    and keeps the result with that router: handing every app the same router makes an app in
    milliseconds instead of a third of a second. A server makes one app; the tests make one
    per test. The routes hold nothing of an app: they reach its settings and database
    through ``request.app.state``.
    """

    api = Router(prefix="/api/v1", responses=REFUSALS)
    for r in (auth, auth_signup, members, catalog, policies, enrolment, ledger, claims,
              settlement, actuarial, governance, health, audit, jobs, reinsurance, premiums,
              calendar):
        api.include(r)
    return api


def create_app(settings: Settings | None = None, *, engine=None) -> FastAPI:
    settings = settings or get_settings()
    settings.signing_key()  # SecretKeyRefused: never sign with no key, or one from the source
    app = FastAPI(
        title="mutua",
        description="Operating platform for a mutual insurer (相互保险社).",
        version="0.1.0",
        docs_url=None,  # served from local assets by mutua.web.docs
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.sessionmaker = session_factory(app.state.engine)
    app.state.read_sessionmaker = (session_factory(make_engine(settings.read_database_url))
                                   if settings.read_database_url else None)

    _install_error_handlers(app)
    _install_healthz(app)  # first in the route table: Starlette tries routes in order

    # Too large, nested too deep, or with NUL (PostgreSQL cannot store it): refused first.
    app.add_middleware(BodyGuard, text_limit=settings.upload_max_bytes,
                       upload_limit=max(settings.import_max_bytes, settings.upload_max_bytes))
    app.include_router(api_router())

    docs.install(app)
    pages.install(app)


    app.add_middleware(SecurityHeaders)  # around the others: their refusals get it too
    logs.install()  # no ID numbers, phones, bodies or query strings in any log line
    metrics.install(app)  # GET /metrics, request counts and latency by route template

    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The limiter belongs to the running event loop, so it is sized when the server starts.
    to_thread.current_default_thread_limiter().total_tokens = app.state.settings.request_threads
    # The app's own objects (routes, models, metadata: some 200,000) live as long as the
    # process; a full garbage collection walked them all, stalling every request for 70 ms
    # or more. Frozen, they are left out of every collection. Once a process is enough.
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()

    embedded = None
    if worker.wanted_in_app(app.state.settings, app.state.engine):
        # SQLite: no queue server; the thread also delivers the notifications outbox
        embedded = worker.EmbeddedWorker(app.state.engine,
                                         settings=app.state.settings).start()
    yield
    if embedded is not None:
        embedded.stop()


def _install_healthz(app: FastAPI) -> None:
    """``GET /healthz``: the database answers. Probes call it every few seconds per worker."""

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict:
        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok"}


INT64_MAX = 2**63 - 1
# The error code of a refusal FastAPI or Starlette answer themselves, by status: the
# project's own for a status it refuses with too.
HTTP_ERRORS = {400: "bad_request", 405: "method_not_allowed", 415: "unsupported_media_type",
               **{kind.status_code: kind.code for kind in (
                   ValidationFailed, TooLarge, Unauthorized, Forbidden, NotFound, Conflict)}}


def _refusal(refused: DomainError, headers: dict | None = None) -> JSONResponse:
    """The answer to a refusal: its record (DomainError.to_record) and its status."""
    if refused.status_code == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return JSONResponse(refused.to_record(), status_code=refused.status_code, headers=headers)


def _out_of_range_fields(request: Request) -> list[str]:
    """Path and query parameters holding integers the database cannot store (beyond 64 bits)."""
    fields = []
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        text = str(value).strip()
        if text.lstrip("+-").isdigit() and abs(int(text)) > INT64_MAX:
            fields.append(name)
    return fields or ["body"]


def _install_error_handlers(app: FastAPI) -> None:
    from sqlalchemy.exc import DataError

    async def number_out_of_range(request: Request, exc: Exception):
        # An id like 10**30 passes `int` validation but no database column holds it: the
        # caller gets a 422 naming the field instead of a server error.
        if isinstance(exc, DataError) and "out of range" not in str(exc.orig):
            raise exc
        # the rule stands alone, not inside the ValidationFailed call, so pybabel extracts it
        problems = [Problem(f, "is out of range (at most %(limit)s)", limit=INT64_MAX)
                    for f in _out_of_range_fields(request)]
        return _refusal(ValidationFailed(problems))

    app.add_exception_handler(OverflowError, number_out_of_range)
    app.add_exception_handler(DataError, number_out_of_range)

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(request: Request, exc: BodyTooLarge):
        # An upload sent without a length passed its limit while a form was being read.
        return _refusal(body_over(exc.limit))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        # FastAPI's and Starlette's own refusals (a body that cannot be parsed, no such path,
        # a method the path does not take) in the shape of every other refusal
        refused = DomainError(str(exc.detail))
        refused.status_code, refused.code = exc.status_code, HTTP_ERRORS.get(exc.status_code,
                                                                             "error")
        return _refusal(refused, exc.headers)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        return _refusal(exc)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError):
        refused = await caller_refused(request)  # a dead token is answered 401 first
        if refused is not None:
            return await domain_error(request, refused)
        return _refusal(ValidationFailed([Problem.from_pydantic(field_path(e["loc"]), e)
                                          for e in exc.errors()]))
