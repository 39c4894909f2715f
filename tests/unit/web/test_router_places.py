"""Routers are tried only for paths inside their place (deps.Router.matches).

FastAPI 0.16x tries a request against every route of every included router before the one
that answers; the project's routers refuse a path outside their prefix at once. These tests
hold that the shortcut answers exactly what FastAPI would: the right route, 404 and 405 as
before, prefixes given at inclusion counted, and the app's own routers in their places.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from mutua.deps import Router


def _app() -> tuple[FastAPI, dict[str, Router]]:
    outer = Router(prefix="/api/v1")
    first, second, bare = Router(prefix="/first"), Router(prefix="/second"), Router()

    @first.get("/things")
    async def first_things() -> dict:
        return {"from": "first"}

    @second.get("/things")
    async def second_things() -> dict:
        return {"from": "second"}

    @second.post("/things/{n}")
    async def second_thing(n: int) -> dict:
        return {"from": "second", "n": n}

    @bare.get("/plain")
    async def plain() -> dict:
        return {"from": "bare"}

    outer.include(first)
    outer.include(second, prefix="/extra")
    outer.include(bare)
    app = FastAPI()
    app.include_router(outer)
    return app, {"outer": outer, "first": first, "second": second, "bare": bare}


def test_each_router_knows_where_its_paths_start() -> None:
    _, routers = _app()
    assert routers["outer"].mounted_at == "/api/v1"
    assert routers["first"].mounted_at == "/api/v1/first"
    assert routers["second"].mounted_at == "/api/v1/extra/second"  # the inclusion's prefix counts
    assert routers["bare"].mounted_at == "/api/v1"


def test_requests_reach_the_same_routes_as_without_the_shortcut() -> None:
    app, _ = _app()
    client = TestClient(app)
    assert client.get("/api/v1/first/things").json() == {"from": "first"}
    assert client.get("/api/v1/extra/second/things").json() == {"from": "second"}
    assert client.post("/api/v1/extra/second/things/7").json() == {"from": "second", "n": 7}
    assert client.get("/api/v1/plain").json() == {"from": "bare"}
    assert client.get("/api/v1/second/things").status_code == 404  # not its place
    assert client.get("/api/v1/nowhere").status_code == 404
    assert client.get("/api/v1/extra/second/things/7").status_code == 405  # path known, method not


def test_a_router_is_not_tried_for_a_path_outside_its_place(monkeypatch) -> None:
    from fastapi.routing import APIRouter

    app, routers = _app()
    names = {id(r): name for name, r in routers.items()}
    compared: list[str] = []  # routers whose routes FastAPI compared with the path
    original = APIRouter.matches

    def comparing(self, scope):
        compared.append(names[id(self)])
        return original(self, scope)

    monkeypatch.setattr(APIRouter, "matches", comparing)
    assert TestClient(app).get("/api/v1/plain").status_code == 200  # the last router's route
    assert "bare" in compared
    # Included before it, but their places (/api/v1/first, /api/v1/extra/second) cannot hold
    # the path: FastAPI alone compares it with each of their routes first.
    assert "first" not in compared and "second" not in compared


def test_the_apps_routers_sit_under_their_prefixes() -> None:
    from mutua.policies.router import router as policies
    from mutua.web.app import api_router
    from mutua.web.pages import page_router
    from mutua.web.pages.staff_claims import router as staff_claims

    api_router(), page_router()
    assert policies.mounted_at == "/api/v1/policies"
    assert staff_claims.mounted_at == "/staff/claims"


def test_a_route_added_after_requests_is_found():
    # Routing keeps each router's version of its routes between requests (Router.
    # _get_routes_version): a route added later must still be found, and its router's new
    # version must reach the routers above it.
    app, routers = _app()
    client = TestClient(app)
    assert client.get("/api/v1/first/later").status_code == 404

    @routers["first"].get("/later")
    async def later() -> dict:
        return {"from": "later"}

    assert client.get("/api/v1/first/later").json() == {"from": "later"}
