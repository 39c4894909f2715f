"""Security headers on every response: no sniffing, a strict content policy, HSTS over TLS.

Pages carry their own policy (session.PAGE_HEADERS: scripts from this site only) and /docs
its own (web/docs.py: Swagger UI's one inline script, by its hash). Everything else, the JSON
API above all, gets ``default-src 'none'``: a response from /api/v1 is data, never a
document a browser should run or frame, even if a value in it looks like HTML.

``Strict-Transport-Security`` is sent when the request came over TLS. Behind a reverse
proxy that terminates TLS, run uvicorn with ``--proxy-headers --forwarded-allow-ips <proxy>``
so the forwarded scheme counts (docs/operations.md), or let the proxy send the header.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOSNIFF = (b"x-content-type-options", b"nosniff")
DATA_POLICY = (b"content-security-policy",
               b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
NO_FRAMES = (b"x-frame-options", b"DENY")
NO_REFERRER_ABROAD = (b"referrer-policy", b"same-origin")
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """Pure ASGI middleware: adds each header a response does not set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [NOSNIFF, DATA_POLICY, NO_FRAMES, NO_REFERRER_ABROAD]
        if scope.get("scheme") == "https":
            extra.append(HSTS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _v in headers}
                headers += [(k, v) for k, v in extra if k not in names]
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)
