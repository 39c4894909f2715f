"""Walk every route with every role and with no credentials; compare with the declared matrix.

- no credentials: 401 on the API, a redirect to /signin on pages;
- a role that the route's ``allow(...)`` does not admit: 403;
- a role it admits: never 401, never the role refusal, never a 5xx (the ids exist nowhere,
  so 404 and 422 are the usual answers);
- a route without ``allow(...)`` must be on the public list.
"""

import re

from mutua.auth.roles import Role
from tests import factories as f
from tests.integration.security.access import CALLERS, PUBLIC, PUBLIC_MOUNTS, routes

ROLE_REFUSAL = "may not call this"


def callers(client, db) -> dict:
    """Bearer headers for every role (one member with a login) and for nobody."""
    headers: dict = {None: {}}
    for role in Role:
        if role is Role.MEMBER:
            headers[role] = f.member_headers(client, db, f.member(db, login=True))
        else:
            headers[role] = f.staff_headers(client, db, role)
    return headers


def csrf_token(client) -> str:
    page = client.get("/signin").text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def call(client, route, headers):
    h = dict(headers)
    kwargs = {}
    if route.method in ("POST", "PUT", "PATCH"):
        if route.is_page:
            h["x-csrf-token"] = csrf_token(client)  # afresh: /signout clears the session
            kwargs["data"] = {}
        else:
            kwargs["json"] = {}
    return client.request(route.method, route.url(), headers=h, follow_redirects=False, **kwargs)


def gist(r) -> str:
    """The error message of a JSON or HTML answer, briefly."""
    if r.headers.get("content-type", "").startswith("application/json"):
        return r.text[:160]
    m = re.search(r'<p class="(?:error|message)"[^>]*>(.*?)</p>', r.text, re.S)
    return (m.group(1).strip() if m else r.text[-160:])[:160]


def verdict(route, caller, r) -> str | None:
    """None when the answer matches the matrix, else what is wrong."""
    if r.status_code >= 500:
        return f"server error {r.status_code}"
    if route.allowed is None:  # public: wrong sign-in details may still be refused, roles never
        return None if ROLE_REFUSAL not in r.text else "public route refused a role"
    if caller is None:
        if route.is_page:
            ok = r.status_code in (302, 303) and "/signin" in r.headers.get("location", "")
            return None if ok else f"expected a redirect to sign-in, got {r.status_code}"
        return None if r.status_code == 401 else f"expected 401, got {r.status_code}"
    if caller in route.allowed:
        if r.status_code == 401 or (r.status_code == 403 and ROLE_REFUSAL in r.text):
            return f"admitted role refused with {r.status_code}"
        return None
    return None if r.status_code == 403 else f"expected 403, got {r.status_code}"


def walked_callers(route, on_postgres: bool) -> list:
    """Every caller on SQLite. On PostgreSQL only those the route admits (all, on a public
    route): a refusal (401, the sign-in redirect, 403) is decided by the ``allow(...)``
    dependency before the route's own queries run, the same on either database, and is
    walked on SQLite; what the database changes is what an admitted caller's request runs."""
    if not on_postgres or route.allowed is None:
        return list(CALLERS)
    return [c for c in CALLERS if c in route.allowed]


def test_every_route_answers_every_caller_as_declared(client, db):
    found, mounts = routes(client.app)
    assert len(found) > 50
    unguarded = [f"{r.method} {r.path}" for r in found
                 if r.allowed is None and (r.method, r.path) not in PUBLIC]
    assert not unguarded, f"routes with no allow(...) dependency and not declared public: {unguarded}"
    assert set(mounts) <= set(PUBLIC_MOUNTS), mounts

    heads = callers(client, db)
    on_postgres = db.get_bind().dialect.name == "postgresql"
    wrong = []
    for route in found:
        for caller in walked_callers(route, on_postgres):
            r = call(client, route, heads[caller])
            problem = verdict(route, caller, r)
            if problem:
                who = caller.value if caller else "nobody"
                wrong.append(f"{route.method} {route.path} as {who}: {problem}: {gist(r)}")
    assert not wrong, "\n".join(wrong)


def test_public_list_names_only_routes_that_exist(client):
    found, _ = routes(client.app)
    present = {(r.method, r.path) for r in found}
    assert set(PUBLIC) <= present, set(PUBLIC) - present


def test_every_schema_operation_is_in_the_walk(client):
    found, _ = routes(client.app)
    walked = {(r.method.lower(), r.path) for r in found}
    schema = client.get("/openapi.json").json()
    for path, ops in schema["paths"].items():
        for method in ops:
            assert (method, path) in walked, (method, path)
