"""Refuse NUL characters in text input before any handler sees them.

PostgreSQL cannot store U+0000 in a text column (SQLite can), so a NUL in a JSON field would
be a server error on one backend and stored on the other. No legitimate text carries one, so
every JSON or form body and every query string with a NUL gets a 422 naming the rule.
File uploads (multipart) are binary and pass untouched; their text fields are checked where
they are parsed.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RULE = "must not contain NUL (U+0000) characters"
TEXT_TYPES = (b"application/json", b"application/x-www-form-urlencoded")


class NulGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            await _refuse(send, "query")
            return
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
        if not content_type.startswith(TEXT_TYPES):
            await self.app(scope, receive, send)
            return
        body, messages = await _read_all(receive)
        if b"\x00" in body or b"\\u0000" in body or b"%00" in body:
            await _refuse(send, "body")
            return
        await self.app(scope, _replay(messages, receive), send)


async def _read_all(receive: Receive) -> tuple[bytes, list[Message]]:
    messages, chunks = [], []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


async def _refuse(send: Send, field: str) -> None:
    body = json.dumps({"error": "validation_failed", "message": f"{field}: {RULE}",
                       "problems": [{"field": field, "rule": RULE}]}).encode()
    await send({"type": "http.response.start", "status": 422,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
