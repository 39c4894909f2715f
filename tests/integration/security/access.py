"""The declared access matrix: every route of the app with the roles its ``allow(...)`` admits.

Built from the code itself (``mutua.deps.allow`` sets ``allowed_roles`` on its check), so a new
route joins the matrix by being written. A route with no ``allow`` dependency must be in
``PUBLIC`` below, with the reason it needs no sign-in; any other fails the access test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from mutua.auth.roles import Role

# (method, path) -> why anyone may call it. Keep this list short.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "liveness probe for the proxy and the orchestrator; says only 'ok'",
    ("GET", "/metrics"): "aggregate counts only; the reverse proxy keeps it internal",
    ("GET", "/openapi.json"): "the API's published schema",
    ("GET", "/docs"): "the API's documentation page",
    ("POST", "/api/v1/auth/token"): "sign-in itself (rate-limited per login)",
    ("GET", "/"): "front door: redirects to sign-in or to the caller's home",
    ("GET", "/signin"): "sign-in page",
    ("POST", "/signin"): "sign-in form (CSRF-checked, rate-limited per login)",
    ("POST", "/signout"): "ends the caller's own session",
    ("POST", "/language"): "sets the reader's language cookie",
    ("GET", "/assets/plotly.min.js"): "chart library shipped in the package",
    ("POST", "/api/v1/premiums/callbacks/{provider}"): "the payment provider's notice of a "
    "payment: its HMAC signature under the configured secret is the credential",
    ("GET", "/join"): "joining the mutual: the form a person fills before they have an account",
    ("POST", "/join/code"): "sends the phone code to join (CSRF-checked, limited per phone and "
    "per address)",
    ("POST", "/join"): "creates the account with the phone code as the credential",
    ("GET", "/reset"): "a forgotten password: the form asks for the phone",
    ("POST", "/reset/code"): "sends the reset code to the account's own phone (limited per phone "
    "and per address)",
    ("POST", "/reset"): "sets a new password with the phone code as the credential",
    ("POST", "/api/v1/auth/signup/code"): "the API's /join/code: sends the phone code to join "
    "(limited per phone and per address)",
    ("POST", "/api/v1/auth/signup"): "the API's /join: creates the account with the phone code "
    "as the credential",
    ("POST", "/api/v1/auth/code"): "sends a sign-in code to the account's own phone (limited "
    "per phone and per address)",
    ("POST", "/api/v1/auth/code/token"): "sign-in with the phone code as the credential",
    ("POST", "/api/v1/auth/reset/code"): "the API's /reset/code",
    ("POST", "/api/v1/auth/reset"): "the API's /reset: the phone code is the credential",
}
PUBLIC_MOUNTS = {"/static": "stylesheets and scripts", "/docs-assets": "Swagger UI files"}

CALLERS: list[Role | None] = [None, *Role]  # None: no credentials


@dataclass(frozen=True)
class RouteAccess:
    method: str
    path: str
    allowed: frozenset[Role] | None  # None: no allow() dependency
    in_schema: bool

    @property
    def is_page(self) -> bool:
        return not self.path.startswith("/api/")

    def url(self) -> str:
        """The path with every parameter filled in: ids that exist in no table."""
        fill = {"quarter": "2026Q1", "project": "NO-SUCH-PROJECT", "code": "NO-SUCH-CODE"}
        return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: fill.get(m.group(1), "987654"), self.path)


def _allowed_roles(dependant) -> frozenset[Role] | None:
    for dep in dependant.dependencies:
        roles = getattr(dep.call, "allowed_roles", None)
        if roles is not None:
            return roles
        roles = _allowed_roles(dep)
        if roles is not None:
            return roles
    return None


def routes(app: FastAPI) -> tuple[list[RouteAccess], list[str]]:
    """Every (method, path) the app answers, and the paths of its mounts."""
    out: list[RouteAccess] = []
    mounts: list[str] = []
    for rc in iter_route_contexts(app.routes):
        methods = rc.methods
        if not methods:
            mounts.append(rc.path)
            continue
        dependant = getattr(rc, "dependant", None)
        allowed = _allowed_roles(dependant) if dependant is not None else None
        for method in sorted(methods - {"HEAD"}):
            out.append(RouteAccess(method, rc.path, allowed, bool(getattr(rc, "include_in_schema", False))))
    return out, mounts


def matrix_markdown(app: FastAPI) -> str:
    """The matrix as a Markdown table (for docs/security.md)."""
    found, _ = routes(app)
    roles = [r for r in Role]
    head = "| method | route | " + " | ".join(r.value for r in roles) + " |"
    lines = [head, "|" + "---|" * (len(roles) + 2)]
    for r in sorted(found, key=lambda r: (r.path, r.method)):
        if r.allowed is None:
            cells = ["public"] * len(roles)
        else:
            cells = ["yes" if role in r.allowed else "·" for role in roles]
        lines.append(f"| {r.method} | `{r.path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
