"""Page sessions: a signed cookie that says who is signed in, plus a CSRF token.

The cookie is signed (itsdangerous, keyed by the app's secret), HttpOnly and SameSite=Lax,
and expires after ``SESSION_HOURS``. It holds no personal data: user id, username, role,
member id and the form token. The API never reads it (the API takes bearer tokens only), so
a page session cannot be turned against ``/api/v1``.

Every page form carries ``csrf_token``; :func:`csrf_protect` compares it with the token in
the signed cookie before any POST reaches a page route.
"""

from __future__ import annotations

import hmac
import secrets
from http.cookies import SimpleCookie

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from mutua.auth import sessions
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.errors import Forbidden, Unauthorized
from mutua.members.accounts import principal_now
from mutua.notify.service import unread_count
from mutua.web import i18n

SESSION_COOKIE = "mutua_session"
LOCALE_COOKIE = "mutua_locale"
SESSION_HOURS = 8
CSRF_FIELD = "csrf_token"
_SALT = "mutua.web.session"


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def dumps(data: dict, *, secret: str) -> str:
    return _serializer(secret).dumps(data)


def loads(value: str | None, *, secret: str) -> dict:
    """The session data of a cookie value; an empty dict when absent, forged or expired."""
    if not value:
        return {}
    try:
        data = _serializer(secret).loads(value, max_age=SESSION_HOURS * 3600)
    except BadSignature:
        return {}
    return data if isinstance(data, dict) else {}


def principal_from(data: dict) -> Principal | None:
    try:
        return Principal(user_id=int(data["uid"]), username=str(data["usr"]),
                         role=Role(data["role"]), member_id=data.get("mid"))
    except (KeyError, ValueError, TypeError):
        return None


def new_session(principal: Principal | None = None, *, stamp: str = "", sid: str = "") -> dict:
    """Fresh session data with a new CSRF token (a new one at every sign-in and sign-out);
    ``stamp`` is the account's credentials stamp (auth.security.credentials_stamp), ``sid``
    the id of its row in sign_in_sessions (auth.sessions), which can be ended."""
    data = {"csrf": secrets.token_urlsafe(24)}
    if principal is not None:
        data.update(uid=principal.user_id, usr=principal.username, role=principal.role.value,
                    mid=principal.member_id, pwd=stamp)
        if sid:
            data["sid"] = sid
    return data


# Sent with every page: no framing, no sniffing, scripts only from this site (the charts,
# htmx); inline styles are allowed because plotly.js and htmx set them.
PAGE_HEADERS = (
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
     b"img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
     b"frame-ancestors 'none'; form-action 'self'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class SessionMiddleware:
    """Pure ASGI middleware: puts the session, the principal and the locale on request.state."""

    def __init__(self, app, *, secret: str, default_locale: str = i18n.DEFAULT_LOCALE):
        self.app = app
        self.secret = secret
        self.default_locale = i18n.normalise(default_locale)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        state = scope.setdefault("state", {})
        state["locale"] = i18n.normalise(cookies.get(LOCALE_COOKIE), self.default_locale)
        # The reader's language from the start of the request, so text a handler translates
        # before render() (refused input told by problems.describe) is in it too.
        i18n.set_locale(state["locale"])
        if scope["path"].startswith(("/api/", "/docs", "/openapi.json")):
            await self.app(scope, receive, send)
            return
        data = loads(cookies.get(SESSION_COOKIE), secret=self.secret)
        state["session"] = data
        principal = principal_from(data)
        if principal is not None:
            state["principal"] = principal

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _v in headers}
                headers += [(k, v) for k, v in PAGE_HEADERS if k not in names]
                if principal is not None and b"cache-control" not in names:
                    # Private pages are not kept by shared caches or on a shared phone.
                    headers.append((b"cache-control", b"private, no-store"))
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _cookies(scope) -> dict[str, str]:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header means no cookies
                return {}
            return {k: m.value for k, m in jar.items()}
    return {}


def session_of(request: Request) -> dict:
    return getattr(request.state, "session", None) or {}


def ensure_csrf(request: Request) -> str:
    """The CSRF token for forms on this page, starting an anonymous session if there is none."""
    data = session_of(request)
    if not data.get("csrf"):
        data = new_session()
        request.state.session = data
        request.state.session_dirty = True
    return data["csrf"]


def write_session(response: Response, request: Request, data: dict | None) -> None:
    """Set (or with ``None`` clear) the session cookie on a response."""
    secure = request.url.scheme == "https"
    if data is None:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                               secure=secure)
        return
    response.set_cookie(
        SESSION_COOKIE, dumps(data, secret=request.app.state.settings.secret_key),
        max_age=SESSION_HOURS * 3600, path="/", httponly=True, samesite="lax", secure=secure,
    )


def write_locale(response: Response, request: Request, locale: str) -> None:
    """Remember the chosen language for a year."""
    response.set_cookie(LOCALE_COOKIE, i18n.normalise(locale), max_age=365 * 24 * 3600,
                        path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


class CsrfFailed(Forbidden):
    code = "csrf_failed"


POSTED_FORM = "mutua.posted_form"


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


async def csrf_protect(request: Request) -> None:
    """Refuse a page POST whose form token does not match the session's (403)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session_of(request).get("csrf")
    sent = request.headers.get("x-csrf-token")
    form = await request.form() if _is_form(request) else None
    if sent is None:
        sent = form.get(CSRF_FIELD) if form is not None else None
    if form is not None:  # kept for a refused form to be shown again as typed (web.refill)
        request.scope[POSTED_FORM] = [(k, v) for k, v in form.multi_items()
                                      if isinstance(v, str) and k != CSRF_FIELD]
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise CsrfFailed("the form has expired or did not come from this site")


async def form_data(request: Request):
    """The parsed form of a POST, for routes whose fields are not known in advance."""
    return await request.form()


def session_alive(request: Request) -> None:
    """Forget the signed-in person if their account is gone, deactivated, changed role or
    changed password since the cookie was signed (one primary-key read), as bearer tokens
    are checked: the next page asks them to sign in."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return

    data = session_of(request)
    with request.app.state.sessionmaker() as db:
        try:
            request.state.principal = principal_now(
                db, claimed=principal, stamp=str(data.get("pwd", "")),
                secret=request.app.state.settings.secret_key)
        except Unauthorized:
            request.state.principal = None
            return
        sid = data.get("sid")
        if sid and not sessions.is_live(db, sid=str(sid), user_id=principal.user_id):
            request.state.principal = None  # ended from another device
        elif principal.member_id is not None:  # the header's count of unread messages
            request.state.unread = unread_count(db, member_id=principal.member_id)
