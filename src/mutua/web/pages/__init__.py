"""Server-rendered pages for members (/me) and staff (/staff), in Chinese and English.

``install(app)`` adds the session middleware, HTML error pages for page paths (the API keeps
its JSON errors), the locally served chart library, and the page routers. Every page router
checks the CSRF token of every POST.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, Response

from mutua.errors import DomainError, Forbidden, NotFound, Unauthorized, ValidationFailed
from mutua.web.render import redirect, render
from mutua.web.session import CsrfFailed, SessionMiddleware, csrf_protect, session_alive

# Paths that answer in JSON or are files, never HTML pages.
_NOT_PAGES = ("/api/", "/docs", "/openapi.json", "/healthz", "/metrics", "/static/",
              "/assets/", "/docs-assets/")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(_NOT_PAGES)


def install(app: FastAPI) -> None:
    """Mount the page routes on the app."""
    from mutua.web.pages import (
        auth,
        member,
        member_claims,
        member_governance,
        member_health,
        member_statements,
        staff,
        staff_actuarial,
        staff_care,
        staff_catalog,
        staff_claims,
        staff_close,
        staff_finance,
        staff_governance,
        staff_jobs,
        staff_meetings,
        staff_members,
        staff_reinsurance,
    )

    settings = app.state.settings
    app.add_middleware(SessionMiddleware, secret=settings.secret_key,
                       default_locale=settings.default_locale)
    _install_error_pages(app)
    _install_assets(app)
    for module in (auth, member, member_claims, member_governance, member_health,
                   member_statements, staff, staff_actuarial, staff_care, staff_catalog,
                   staff_claims, staff_close, staff_finance, staff_governance, staff_meetings,
                   staff_members, staff_jobs, staff_reinsurance):
        app.include_router(module.router,
                           dependencies=[Depends(session_alive), Depends(csrf_protect)],
                           include_in_schema=False)


def _install_assets(app: FastAPI) -> None:
    import plotly

    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

    @app.get("/assets/plotly.min.js", include_in_schema=False)
    def plotly_min_js() -> Response:
        # Served from the installed plotly package: the charts work with no internet.
        return FileResponse(plotly_js, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})


def _install_error_pages(app: FastAPI) -> None:
    api_domain_error = app.exception_handlers[DomainError]
    api_http_error = app.exception_handlers[StarletteHTTPException]
    api_invalid = app.exception_handlers[RequestValidationError]

    async def domain_error(request: Request, exc: DomainError):
        if not is_page(request):
            return await api_domain_error(request, exc)
        return error_page(request, exc)

    async def http_error(request: Request, exc: StarletteHTTPException):
        if not is_page(request):
            return await api_http_error(request, exc)
        if exc.status_code == 404:
            return error_page(request, NotFound("no such page"))
        if exc.status_code == 405:
            return error_page(request, NotFound("no such page"), status_code=405)
        return await api_http_error(request, exc)

    async def request_invalid(request: Request, exc: RequestValidationError):
        # Pydantic's messages are rules like the services' ones: error.html describes each
        # (problems.describe) with the field's label and the rule in the reader's language.
        if not is_page(request):
            return await api_invalid(request, exc)
        return error_page(request, ValidationFailed(
            [_problem(_field_of(e["loc"]), e["msg"]) for e in exc.errors()]))

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_invalid)


def _field_of(loc: tuple) -> str:
    """The form field a pydantic error is about: ("body", "document", 0) -> "document"."""
    names = [str(part) for part in loc if isinstance(part, str)]
    return names[-1] if names else "input"


def _problem(field: str, rule: str):
    from mutua.errors import Problem

    return Problem(field, rule)


def error_page(request: Request, exc: DomainError, status_code: int | None = None):
    """The page for a refused, missing or broken request, in the reader's language."""
    if isinstance(exc, Unauthorized) and exc.status_code == 401:
        from urllib.parse import quote

        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(f"/signin?next={quote(target, safe='')}")
    kind = "error"
    if isinstance(exc, CsrfFailed):
        kind = "csrf"
    elif isinstance(exc, Forbidden):
        kind = "forbidden"
    elif isinstance(exc, NotFound):
        kind = "not_found"
    elif isinstance(exc, ValidationFailed):
        kind = "invalid"
    problems = getattr(exc, "problems", [])
    return render(request, "error.html", status_code=status_code or exc.status_code, kind=kind,
                  message=exc.message, problems=problems)
