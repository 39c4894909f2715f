"""A request's unit of work: committed when the route returns, rolled back when it raises,
whether the route's database work ran in a plain ``def`` route or in ``deps.in_one_trip``."""

from __future__ import annotations

from sqlalchemy import func, select

from mutua.audit import service as audit
from mutua.audit.models import AuditEvent
from mutua.auth.security import SYSTEM
from mutua.deps import DbSession, Router, in_one_trip
from mutua.errors import ValidationFailed


def _install_routes(app) -> None:
    """Two test routes on a project Router (every route a deps.UnitOfWorkRoute)."""
    router = Router(prefix="/api/v1/test")

    def write(db, action: str, fail: bool) -> dict:
        audit.record(db, actor=SYSTEM, action=action, entity="test", entity_id=1)
        db.flush()
        if fail:
            raise ValidationFailed("fail", "was asked to fail after writing")
        return {"written": action}

    @router.post("/trip/{action}")
    async def trip(action: str, db: DbSession, fail: bool = False) -> dict:
        return await in_one_trip(db, lambda: write(db, action, fail))

    @router.post("/plain/{action}")
    def plain(action: str, db: DbSession, fail: bool = False) -> dict:
        return write(db, action, fail)

    app.include_router(router)


def _count(db, action: str) -> int:
    db.rollback()  # a fresh snapshot of what the requests committed
    return db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_work_done_in_one_trip_is_committed_or_rolled_back_with_the_request(app, client, db):
    _install_routes(app)
    for kind in ("trip", "plain"):
        assert client.post(f"/api/v1/test/{kind}/{kind}.kept").json() == {"written": f"{kind}.kept"}
        refused = client.post(f"/api/v1/test/{kind}/{kind}.dropped", params={"fail": "true"})
        assert refused.status_code == 422
        assert refused.json()["problems"] == [
            {"field": "fail", "rule": "was asked to fail after writing",
             "code": "was asked to fail after writing", "params": {}}]
        assert _count(db, f"{kind}.kept") == 1
        assert _count(db, f"{kind}.dropped") == 0


def test_writers_queued_for_one_request_thread_all_commit(settings, engine, db):
    """Each request's commit has a thread of its own: with one request thread, a writer whose
    commit waited for it behind writers waiting for its lock would stall them all (on SQLite
    each then failed after the 30 s busy timeout; PostgreSQL would wait for ever)."""
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from mutua.web.app import create_app

    app = create_app(settings.model_copy(update={"request_threads": 1}), engine=engine)
    _install_routes(app)
    with TestClient(app) as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: client.post(f"/api/v1/test/plain/queued.{n}"),
                                range(24)))
    assert [a.status_code for a in answers] == [200] * 24
    assert sum(_count(db, f"queued.{n}") for n in range(24)) == 24


def _leaf_routes(routes):
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI keeps included routers
        yield from _leaf_routes(included.routes) if included is not None else [route]


def test_every_route_that_takes_a_session_ends_it_in_its_own_trip(app):
    from fastapi.routing import APIRoute

    from mutua.deps import UnitOfWorkRoute, get_db

    with_session = [r for r in _leaf_routes(app.router.routes) if isinstance(r, APIRoute)
                    and any(d.call is get_db for d in r.dependant.dependencies)]
    assert len(with_session) > 100
    assert [r.path for r in with_session if not isinstance(r, UnitOfWorkRoute)] == []
