"""A request's unit of work: committed when the route returns, rolled back when it raises,
whether the route's database work ran in a plain ``def`` route or in ``deps.in_one_trip``."""

from __future__ import annotations

from sqlalchemy import func, select

from mutua.audit import service as audit
from mutua.audit.models import AuditEvent
from mutua.auth.security import SYSTEM
from mutua.deps import DbSession, in_one_trip
from mutua.errors import ValidationFailed


def _install_routes(app) -> None:
    def write(db, action: str, fail: bool) -> dict:
        audit.record(db, actor=SYSTEM, action=action, entity="test", entity_id=1)
        db.flush()
        if fail:
            raise ValidationFailed("fail", "was asked to fail after writing")
        return {"written": action}

    @app.post("/api/v1/test/trip/{action}")
    async def trip(action: str, db: DbSession, fail: bool = False) -> dict:
        return await in_one_trip(db, lambda: write(db, action, fail))

    @app.post("/api/v1/test/plain/{action}")
    def plain(action: str, db: DbSession, fail: bool = False) -> dict:
        return write(db, action, fail)


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
            {"field": "fail", "rule": "was asked to fail after writing"}]
        assert _count(db, f"{kind}.kept") == 1
        assert _count(db, f"{kind}.dropped") == 0
