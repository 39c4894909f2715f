"""The application factory: the JSON API under /api/v1, the pages, /healthz and /docs."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mutua.db import make_engine, session_factory
from mutua.errors import DomainError
from mutua.settings import Settings, get_settings


def api_router() -> APIRouter:
    from mutua.actuarial.router import router as actuarial
    from mutua.audit.router import router as audit
    from mutua.auth.router import router as auth
    from mutua.catalog.router import router as catalog
    from mutua.claims.router import router as claims
    from mutua.governance.router import router as governance
    from mutua.health.router import router as health
    from mutua.ledger.router import router as ledger
    from mutua.members.router import router as members
    from mutua.policies.router import router as policies
    from mutua.settlement.router import router as settlement

    api = APIRouter(prefix="/api/v1")
    for r in (auth, members, catalog, policies, ledger, claims, settlement, actuarial,
              governance, health, audit):
        api.include_router(r)
    return api


def create_app(settings: Settings | None = None, *, engine=None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="mutua",
        description="Operating platform for a mutual insurer (相互保险社).",
        version="0.1.0",
        docs_url=None,  # served from local assets by mutua.web.docs
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.sessionmaker = session_factory(app.state.engine)

    _install_error_handlers(app)
    app.include_router(api_router())

    from mutua.web import docs, pages

    docs.install(app)
    pages.install(app)

    from mutua.ops import logs
    from mutua.web import metrics

    logs.install()  # no ID numbers, phones, bodies or query strings in any log line
    metrics.install(app)  # GET /metrics, request counts and latency by route template

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict:
        from sqlalchemy import text

        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok"}

    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError):
        problems = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "rule": e["msg"]}
            for e in exc.errors()
        ]
        message = "; ".join(f"{p['field']}: {p['rule']}" for p in problems)
        return JSONResponse(
            {"error": "validation_failed", "message": message, "problems": problems},
            status_code=422,
        )
