"""FastAPI dependencies shared by every router: the session, the caller, paging.

Every route declares who may call it with ``Depends(allow(Role.X, ...))``; admin is
always allowed on staff routes. ``allow(Role.MEMBER, ...)`` admits members too, and the
service then checks that the record is the member's own.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Generic, TypeVar, get_args

from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Query, Request, Response, params
from fastapi.dependencies.utils import get_typed_signature
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy.orm import Session
from starlette.routing import Match, get_route_path
from starlette.types import Scope

from mutua.auth.roles import Role
from mutua.auth.security import Principal, TokenClaims, read_token
from mutua.bounds import DAY_RANGE, MAX_ID, supported_day
from mutua.db import replica_lag_seconds
from mutua.errors import Forbidden, Unauthorized
from mutua.members.accounts import principal_now

T = TypeVar("T")

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request, ended by one rule (_end_unit_of_work): commit when the
    route answers, roll back when it raises or answers a refusal (status 400 and above), so
    a refused request stores nothing, whether the API raised or a page re-rendered its form.

    The route itself ends it, in the thread trip that did its work (UnitOfWorkRoute for a
    plain ``def`` route, in_one_trip for an ``async def`` one): a request that has written
    holds its locks until it commits, and a commit queued for a thread while every thread
    waited for those locks would never run. Opening the session does no I/O, so it happens on
    the event loop; so does closing it, unless reading the route's result began a new
    transaction, which then ends in one more trip (not cancelled with the request) by the
    same rule.
    """
    session = request.app.state.sessionmaker()
    try:
        yield session
    except BaseException:
        await _end_off_loop(session, False)
        raise
    await _end_off_loop(session, True)


async def get_read_db(request: Request, response: Response) -> AsyncIterator[Session]:
    """A session for a report that only reads: on the replica (MUTUA_READ_DATABASE_URL) when
    it is at most ``read_max_lag_seconds`` behind the primary, else on the primary.

    The answer says where it was read: ``X-Mutua-Read-From: replica`` with
    ``X-Mutua-Stale-Seconds`` (how far behind the replica was; 0 when it had replayed all it
    had received), or ``primary``. The session is rolled back at the end: it never writes.
    """
    session, where, lag = await to_thread.run_sync(_read_session, request.app)
    response.headers["X-Mutua-Read-From"] = where
    if where == "replica":
        response.headers["X-Mutua-Stale-Seconds"] = f"{lag:.1f}"
    try:
        yield session
    finally:
        await _end_off_loop(session, False)


def _read_session(app) -> tuple[Session, str, float]:
    replica = app.state.read_sessionmaker
    if replica is not None:
        session = replica()
        try:
            lag = replica_lag_seconds(session)
        except Exception:  # a replica that is down or unreachable: read on the primary
            session.close()
        else:
            if lag <= app.state.settings.read_max_lag_seconds:
                return session, "replica", lag
            session.close()
    return app.state.sessionmaker(), "primary", 0.0


async def _end_off_loop(session: Session, commit: bool) -> None:
    if session.in_transaction():
        await to_thread.run_sync(_end, session, commit)
    else:  # the route ended it: no connection is held, nothing to say to the database
        session.close()


def _work_then_end(session: Session, work: Callable[[], T]) -> T:
    """Run ``work`` and end its unit of work by its answer; the session stays open. The
    caller's account is checked first when the route left it to this trip (current_principal)."""
    try:
        check_caller = session.info.pop(_CALLER_CHECK, None)
        if check_caller is not None:
            check_caller(session)
        result = work()
    except BaseException:
        session.rollback()
        raise
    _end_unit_of_work(session, commit=not is_refusal(result))
    return result


def is_refusal(answer: object) -> bool:
    """A response that refuses (status 400 and above): a page re-rendering its form with
    the problems, a 403 or 404 page. Its request stores nothing."""
    return isinstance(answer, Response) and answer.status_code >= 400


def _end_unit_of_work(session: Session, *, commit: bool) -> None:
    """The one place a request's writes are committed (or rolled back)."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def refusal_undone(db: Session) -> Iterator[None]:
    """Around a page's use case: when it refuses (or fails), roll back what it wrote before
    the page answers, so the form is re-rendered from the state before the refused write
    (and a session whose flush failed is usable again). The refusal's answer then ends the
    unit of work with a rollback too (is_refusal).

    Pages write ``try: with refusal_undone(db): service.x(...)`` and ``except
    ValidationFailed as exc: return page(..., status_code=422)``, never a rollback of their own.
    """
    try:
        yield
    except Exception:
        db.rollback()
        raise


async def in_one_trip(db: Session, work: Callable[[], T]) -> T:
    """Run an ``async def`` route's database work and end its unit of work in one thread trip."""
    return await to_thread.run_sync(_work_then_end, db, work)


def works_in_one_trip(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an ``async def`` endpoint that reaches the database only through one
    :func:`in_one_trip`: its caller's account is then read first in that trip, as a plain
    ``def`` route's is (a trip, a session and a pool checkout fewer; the policy list took
    3.6 ms in process with the check in a trip of its own). Should the endpoint answer or
    raise without taking the trip, the account is read before its answer leaves."""
    endpoint.works_in_one_trip = True
    return endpoint


def _end(session: Session, commit: bool) -> None:
    try:
        _end_unit_of_work(session, commit=commit)
    finally:
        session.close()


class UnitOfWorkRoute(APIRoute):
    """A route whose plain ``def`` endpoint commits (or rolls back) as it returns, in its trip.

    FastAPI runs such an endpoint in a request thread and then, for a route that returns a
    model, checks it in another trip, all before get_db ends the unit of work. A request that
    has written holds its locks (SQLite's one writer, PostgreSQL's rows) until it commits; had
    every request thread been waiting for those locks, the writer could never get the trip it
    needed, and no request would move again (tests/integration/platform/test_unit_of_work.py).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _ending_its_unit_of_work(endpoint), **kwargs)
        # The roles whose bearer token current_principal leaves to this route's trip to check.
        self.checks_caller_in_its_trip = _roles_checked_in_trip(endpoint, self.dependant)


class ProblemOut(BaseModel):
    """One broken rule: the field, the rule in English, and the rule's template and values."""

    field: str
    rule: str
    code: str = Field(description="the rule's template (a msgid of the zh_CN catalog), or "
                                  "pydantic's error type for a body that fails the schema")
    params: dict[str, str] = Field(description="the values the template is filled with")


class RefusalOut(BaseModel):
    """The body of every 4xx answer of the API (errors.DomainError.to_record); a refusal may
    add what it names (a duplicate claim's claim_id, a running job's job_id)."""

    error: str = Field(description="validation_failed, too_large, unauthorized, forbidden, "
                                   "not_found, conflict, bad_request or method_not_allowed")
    message: str = Field(description="in English")
    template: str
    params: dict[str, str]
    problems: list[ProblemOut] = Field(default=[], description="bad input: each field and rule")


def refused(description: str) -> dict:
    """A 4xx answer of one route, documented with the refusal's body."""
    return {"model": RefusalOut, "description": description}


# Every route of the API may refuse: bad input (422), too large (413), no or a dead token
# (401), a role that may not (403), nothing there (404), a clash with the state (409).
REFUSALS = {"4XX": refused("refused: what was wrong, in English and as templates with values")}


_route_changes = [0]  # how many times a project router has gained routes


class Router(APIRouter):
    """The project's router: every route is a UnitOfWorkRoute, and a request whose path is
    outside the router's place is not tried against its routes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(route_class=UnitOfWorkRoute, **kwargs)
        # Where the routes' paths start once the router is in the app: its own prefix when
        # the app includes it; the including router's place and prefix when include() does.
        self.mounted_at = self.prefix

    # FastAPI (0.16x) asks each router on a request's way for its routes' version, at every
    # match, and walks every route of every router below it to answer: half of what routing
    # still cost. Routes change only while the app is put together, so the answer is kept
    # until any project router gains a route (_mark_routes_changed).
    _kept_version: tuple[int, int] | None = None

    def _get_routes_version(self, seen: set[int] | None = None) -> int:
        kept = self._kept_version
        if seen is None and kept is not None and kept[0] == _route_changes[0]:
            return kept[1]
        version = super()._get_routes_version(seen)
        if seen is None:
            self._kept_version = (_route_changes[0], version)
        return version

    def _mark_routes_changed(self) -> None:
        super()._mark_routes_changed()
        _route_changes[0] += 1

    def include(self, router: Router, *, prefix: str = "", **kwargs: Any) -> None:
        """``include_router``, noting where the included router's paths start."""
        router.mounted_at = self.mounted_at + prefix + router.prefix
        self.include_router(router, prefix=prefix, **kwargs)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # FastAPI (0.16x) tries a request against every route of every included router, and
        # again when it hands the request on, without looking at their prefixes first: an
        # enrolment was tried against some 80 routes, a page past the last API router against
        # 400 (0.6 ms). No route of this router can match a path outside its place.
        if not get_route_path(scope).startswith(self.mounted_at):
            return Match.NONE, {}
        return super().matches(scope)


def _ending_its_unit_of_work(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(endpoint):  # async routes reach the database through in_one_trip
        return _caller_checked(endpoint) if getattr(endpoint, "works_in_one_trip", False) else endpoint
    name = _session_parameter(endpoint)
    if name is None:
        return endpoint

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        # Reading the result may still load from the session: get_db closes it afterwards.
        return _work_then_end(kwargs[name], lambda: endpoint(*args, **kwargs))

    return run


def _caller_checked(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A works_in_one_trip endpoint that answers (or raises) without taking its trip has its
    caller's account read before its answer leaves: a dead token is still 401."""
    name = _session_parameter(endpoint)

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        session = kwargs[name]
        try:
            return await endpoint(*args, **kwargs)
        finally:  # a refused account's 401 replaces the answer, or the error, it would give
            if _CALLER_CHECK in session.info:
                await to_thread.run_sync(_work_then_end, session, lambda: None)

    return run


def _roles_checked_in_trip(endpoint: Callable[..., Any], dependant) -> frozenset[Role]:
    """The roles the route admits, when its endpoint runs in its unit of work's trip (a plain
    ``def``, or one marked works_in_one_trip), so the caller's account can be read first
    there, and no dependency but the caller, the role check, the session and the paging runs
    before it; else none."""
    in_its_trip = (getattr(endpoint, "works_in_one_trip", False)
                   or not inspect.iscoroutinefunction(endpoint))
    if not in_its_trip or _session_parameter(endpoint) is None:
        return frozenset()
    roles = frozenset(Role)  # narrowed by each allow() the route depends on
    pending = list(dependant.dependencies)
    while pending:
        dep = pending.pop()
        allowed = getattr(dep.call, "allowed_roles", None)
        if allowed is not None:
            roles &= allowed
        elif dep.call not in (current_principal, get_db, oauth2_scheme, page_params):
            return frozenset()
        pending.extend(dep.dependencies)
    return roles


def _session_parameter(endpoint: Callable[..., Any]) -> str | None:
    for parameter in get_typed_signature(endpoint).parameters.values():
        if any(isinstance(meta, params.Depends) and meta.dependency is get_db
               for meta in get_args(parameter.annotation)[1:]):
            return parameter.name
    return None


# scope="function": commit before the response is sent, so a client that follows a redirect
# (or reads its own write) never sees the state from before, and a failed commit is an
# error response rather than a success already sent.
DbSession = Annotated[Session, Depends(get_db, scope="function")]
# Reports and statements that only read: the replica when one is set and near enough.
ReadDbSession = Annotated[Session, Depends(get_read_db, scope="function")]


# The caller and paging dependencies are ``async def`` although they never await: FastAPI runs
# a plain ``def`` dependency in the thread pool, and a hop there and back for a few
# microseconds of work costs more than the work itself under load.
async def current_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)], db: DbSession,
) -> Principal:
    """The caller: a bearer token's account as it stands now (checked in the database on
    every request, so a deactivated account or a changed password ends its tokens at once)."""
    if not token:
        # Pages sign in with a session cookie (checked the same way by session_alive); the
        # API with a bearer token.
        principal = getattr(request.state, "principal", None)
        if principal is not None:
            return principal
        raise Unauthorized("sign in first: no bearer token")
    secret = request.app.state.settings.secret_key
    claims = read_token(token, secret=secret)
    if claims.principal.role in getattr(request.scope.get("route"), "checks_caller_in_its_trip", ()):
        # The account is read first in the route's own trip and transaction (_work_then_end)
        # rather than in a trip and a session of its own: nothing runs as this caller before.
        db.info[_CALLER_CHECK] = functools.partial(_account_as_claimed, claims=claims, secret=secret)
        request.state.caller_unchecked = claims
        return claims.principal
    return await to_thread.run_sync(_account_now, request.app.state.sessionmaker, claims, secret)


# Session.info: the check of the caller's account that the route's trip runs before its work.
_CALLER_CHECK = "caller_check"


def _account_as_claimed(db: Session, *, claims: TokenClaims, secret: str) -> None:
    """Refuse (Unauthorized) a token whose account is not as it claims (principal_now); the
    principal it names is then the one principal_now would answer (a username never changes)."""
    principal_now(db, claimed=claims.principal, stamp=claims.stamp, secret=secret)


def _account_now(sessionmaker, claims: TokenClaims, secret: str) -> Principal:
    with sessionmaker() as db:
        return principal_now(db, claimed=claims.principal, stamp=claims.stamp, secret=secret)


async def caller_refused(request: Request) -> Unauthorized | None:
    """For a request refused before its route ran (its input invalid): the refusal of the
    caller's account, when the route was to check it, so a dead token is answered 401 as
    it would have been before the input was read; else None."""
    claims = getattr(request.state, "caller_unchecked", None)
    if claims is None:
        return None
    try:
        await to_thread.run_sync(_account_now, request.app.state.sessionmaker, claims,
                                 request.app.state.settings.secret_key)
    except Unauthorized as refused:
        return refused
    return None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def allow(*roles: Role):
    """A dependency that admits admin and the given roles, and returns the Principal."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden("role %(role)s may not call this", role=principal.role.value)
        return principal

    check.allowed_roles = allowed  # read by the access-matrix test
    return check


# Row ids in a path or a query: positive and within the database's 64-bit keys.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
PathText = Annotated[str, Path(max_length=64)]  # a code, quarter or token in a page's path
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
# The project codes, quarters and other short codes a query names.
QueryCode = Annotated[str | None, Query(max_length=40)]
# A date in a query, within the days the system holds (bounds.Day).
QueryDay = Annotated[date | None, Query(json_schema_extra=DAY_RANGE), AfterValidator(supported_day)]
MAX_OFFSET = 10**9  # past any list's end: the page is empty


class PageParams(BaseModel):
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    """A page of a list: the items, the total count, and where this page starts."""

    items: list[T]
    total: int
    limit: int
    offset: int


def as_json(model: BaseModel, status_code: int = 200) -> Response:
    """The model as the JSON response, skipping FastAPI's second pass over it.

    FastAPI validates what a plain ``def`` route returns against its ``response_model`` again,
    in another trip to the thread pool, before serialising it. A route that builds its
    response model itself (so the schema is already enforced) returns this instead on the
    hot paths; its ``response_model`` still documents the body in the OpenAPI schema.
    """
    return Response(model.model_dump_json(), status_code=status_code,
                    media_type="application/json")
