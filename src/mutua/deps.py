"""FastAPI dependencies shared by every router: the session, the caller, paging.

Every route declares who may call it with ``Depends(allow(Role.X, ...))``; admin is
always allowed on staff routes. ``allow(Role.MEMBER, ...)`` admits members too, and the
service then checks that the record is the member's own.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Generic, TypeVar, get_args

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from fastapi import APIRouter, Depends, Query, Request, Response, params
from fastapi.dependencies.utils import get_typed_signature
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session

from mutua.auth.roles import Role
from mutua.auth.security import Principal, read_token
from mutua.errors import Forbidden, Unauthorized

T = TypeVar("T")

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request: commit if the route returns, roll back if it raises.

    Opening a session does no I/O, so it happens on the event loop; the commit (or rollback)
    and the return of the connection talk to the database, so they run in one trip to the
    thread pool, shielded from cancellation so a request cut short still ends its transaction.
    """
    session = request.app.state.sessionmaker()
    try:
        yield session
    except BaseException:
        await _end_off_loop(session, False)
        raise
    await _end_off_loop(session, True)


async def _end_off_loop(session: Session, commit: bool) -> None:
    if session.in_transaction():
        await to_thread.run_sync(_end, session, commit, limiter=_ending_threads())
    else:  # ended already (in_one_trip): nothing to say to the database
        session.close()


_ENDING = RunVar[CapacityLimiter]("mutua_ending_threads")


def _ending_threads() -> CapacityLimiter:
    """Threads of their own for ending units of work, one set per event loop.

    A request that has written holds its locks (SQLite's one writer, PostgreSQL's rows) until
    it commits. Had its commit queued for a request thread while every request thread waited
    for those locks, no request would ever move again.
    """
    try:
        return _ENDING.get()
    except LookupError:
        limiter = CapacityLimiter(64)
        _ENDING.set(limiter)
        return limiter


async def in_one_trip(db: Session, work: Callable[[], T]) -> T:
    """Run an ``async def`` route's database work and end its unit of work in one thread trip.

    A plain ``def`` route costs two trips to the thread pool (the route, then get_db's
    commit), and under load each trip waits for a thread and the GIL. The busiest reads do
    their work and commit in the same trip instead.
    """
    def run() -> T:
        try:
            result = work()
        except BaseException:
            _end(db, False)
            raise
        _end(db, True)
        return result

    return await to_thread.run_sync(run)


def _end(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
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


class Router(APIRouter):
    """The project's router: every route is a UnitOfWorkRoute."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(route_class=UnitOfWorkRoute, **kwargs)


def _ending_its_unit_of_work(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(endpoint):
        return endpoint  # async routes reach the database through in_one_trip
    name = _session_parameter(endpoint)
    if name is None:
        return endpoint

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        session: Session = kwargs[name]
        try:
            result = endpoint(*args, **kwargs)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        # The session stays open: reading the result may still load from it, and get_db
        # closes it (in a trip of its own only if that reading began a new transaction).
        return result

    return run


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


# The caller and paging dependencies are ``async def`` although they never await: FastAPI runs
# a plain ``def`` dependency in the thread pool, and a hop there and back for a few
# microseconds of work costs more than the work itself under load.
async def current_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    if not token:
        # Pages sign in with a session cookie; the API with a bearer token.
        principal = getattr(request.state, "principal", None)
        if principal is not None:
            return principal
        raise Unauthorized("sign in first: no bearer token")
    return read_token(token, secret=request.app.state.settings.secret_key)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def allow(*roles: Role):
    """A dependency that admits admin and the given roles, and returns the Principal."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"role {principal.role.value} may not call this")
        return principal

    check.allowed_roles = allowed  # read by the access-matrix test
    return check


class PageParams(BaseModel):
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
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
