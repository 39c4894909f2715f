"""Server-rendered pages for members (/me) and staff (/staff), in Chinese and English.

``install(app)`` adds the session middleware, HTML error pages for page paths (the API keeps
its JSON errors), the locally served chart library, and the page routers. Every page router
checks the CSRF token of every POST.
"""

from __future__ import annotations

import functools
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, Response

from mutua.deps import Router
from mutua.errors import Conflict, DomainError, Forbidden, NotFound, Problem, Unauthorized, ValidationFailed
from mutua.web.i18n import gettext as _
from mutua.web.pages import (
    auth,
    complaints,
    member,
    member_claims,
    member_enrol,
    member_governance,
    member_health,
    member_inbox,
    member_premiums,
    member_privacy,
    member_renewals,
    member_statements,
    signup,
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
    staff_premiums,
    staff_reinsurance,
)
from mutua.web.problems import message_words
from mutua.web.refill import Refused
from mutua.web.render import REFUSED, redirect, render
from mutua.web.session import POSTED_FORM, CsrfFailed, SessionMiddleware, csrf_protect, session_alive

# Paths that answer in JSON or are files, never HTML pages.
_NOT_PAGES = ("/api/", "/docs", "/openapi.json", "/healthz", "/metrics", "/static/",
              "/assets/", "/docs-assets/")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(_NOT_PAGES)


def install(app: FastAPI) -> None:
    """Mount the page routes on the app."""
    settings = app.state.settings
    app.add_middleware(SessionMiddleware, secret=settings.secret_key,
                       default_locale=settings.default_locale)
    _install_error_pages(app)
    _install_assets(app)
    app.include_router(page_router())


@functools.cache
def page_router() -> Router:
    """Every page router, each POST checked for its CSRF token and each page for a live
    session; built once per process and shared by the apps it makes (see
    ``mutua.web.app.api_router``)."""
    pages = Router()
    for module in (auth, complaints, member, member_claims, member_enrol, member_governance,
                   member_health, member_inbox, member_premiums, member_privacy, member_renewals,
                   member_statements, signup,
                   staff, staff_actuarial, staff_care, staff_catalog, staff_claims, staff_close,
                   staff_finance, staff_governance, staff_meetings, staff_members, staff_jobs,
                   staff_reinsurance, staff_premiums):
        pages.include(module.router,
                      dependencies=[Depends(session_alive), Depends(csrf_protect)],
                      include_in_schema=False)
    return pages


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
        if isinstance(exc, ValidationFailed | Conflict):
            again = await form_again(request, exc)
            if again is not None:
                return again
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
        refusal = ValidationFailed([Problem.from_pydantic(_field_of(e["loc"]), e)
                                    for e in exc.errors()])
        return await form_again(request, refusal) or error_page(request, refusal)

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_invalid)


def _field_of(loc: tuple) -> str:
    """The form field a pydantic error is about: ("body", "document", 0) -> "document"."""
    names = [str(part) for part in loc if isinstance(part, str)]
    return names[-1] if names else "input"


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
                  message=message_words(exc), problems=problems)


async def form_again(request: Request, exc: DomainError) -> Response | None:
    """The page a refused form was posted from, rendered again with what was typed and each
    problem beside its field (mutua.web.refill); None when there is no such page to show.

    The handler of the form's path raised before it could render anything itself, so the
    page is asked for as the browser would (GET of the page named by ``Referer``, same site
    only) and refilled as it renders. Nothing was stored: the refusal rolled it back.
    """

    page = _referring_page(request)
    if request.method != "POST" or page is None:
        return None
    problems = list(getattr(exc, "problems", []))
    general = [] if problems else [message_words(exc)]
    refused = Refused(action=request.url.path, values=request.scope.get(POSTED_FORM, []),
                      problems=problems, general=general,
                      heading=_("Nothing was saved. Please check what you entered:"))
    status, headers, body = await _get(request, page, {REFUSED: refused})
    if status != 200:
        return None
    kept = {k: v for k, v in headers if k.lower() == b"content-type"}
    return Response(body, status_code=exc.status_code,
                    media_type=kept.get(b"content-type", b"text/html").decode())


def _referring_page(request: Request):
    """The same-site page path and query a form was posted from, or None."""
    from urllib.parse import urlsplit

    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not referer.path.startswith("/"):
        return None
    if referer.path.startswith(_NOT_PAGES):
        return None
    return referer


async def _get(request: Request, page, extra: dict) -> tuple[int, list, bytes]:
    """Ask the app for ``page`` with the caller's cookies, as a browser's GET would."""
    keep = (b"cookie", b"host", b"accept-language", b"user-agent")
    scope = {key: request.scope[key] for key in ("type", "asgi", "http_version", "scheme",
                                                  "server", "client", "root_path")
             if key in request.scope}
    scope.update(method="GET", path=page.path, raw_path=page.path.encode(),
                 query_string=page.query.encode(), state={},
                 headers=[(k, v) for k, v in request.scope["headers"] if k in keep], **extra)
    answer: dict = {"status": 500, "headers": [], "body": b""}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            answer.update(status=message["status"], headers=message.get("headers", []))
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await request.app(scope, receive, send)
    return answer["status"], answer["headers"], answer["body"]
