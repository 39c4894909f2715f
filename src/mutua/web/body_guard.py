"""Refuse bodies no handler should see: too large, nested too deep, or carrying NUL.

Before any route runs, for every request:

- a body larger than its limit gets 413: text bodies (JSON, forms) at most
  ``upload_max_bytes``, file uploads (multipart) at most ``import_max_bytes`` and a little
  for the other fields. A declared Content-Length over the limit is refused before a byte is
  read; a body sent without one is counted as it arrives and refused at the limit, so no
  request can fill the memory or the disk;
- a JSON body nested deeper than ``bounds.MAX_DEPTH`` gets 422 (100,000 nested ``[`` made
  the JSON parser raise RecursionError, a 500);
- a NUL character in a JSON or form body or a query string gets 422: PostgreSQL cannot
  store U+0000 in a text column (SQLite can), so it would be a server error on one backend
  and stored on the other. File uploads are binary and pass; their text fields are checked
  where they are parsed.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mutua.bounds import MAX_DEPTH, json_depth, too_deep
from mutua.errors import TooLarge, ValidationFailed

NUL_RULE = "must not contain NUL (U+0000) characters"
FORM_TYPE = b"application/x-www-form-urlencoded"
FORM_FIELDS_ALLOWANCE = 1024 * 1024  # a multipart upload's other fields and boundaries


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body without a declared length passes its limit. An
    HTTPException, so a form parser that catches what it reads passes it on as a 413."""

    def __init__(self, limit: int):
        super().__init__(413, f"body: must be at most {limit:,} bytes")
        self.limit = limit


class BodyGuard:
    def __init__(self, app: ASGIApp, *, text_limit: int, upload_limit: int) -> None:
        self.app = app
        self.text_limit = text_limit
        self.upload_limit = upload_limit + FORM_FIELDS_ALLOWANCE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            await _answer(send, ValidationFailed("query", NUL_RULE))
            return
        headers = dict(scope.get("headers", []))
        content_type = headers.get(b"content-type", b"")
        limit = self.upload_limit if content_type.startswith(b"multipart/") else self.text_limit
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _answer(send, body_over(limit))
            return
        receive = _counted(receive, limit)
        media_type = content_type.split(b";")[0].strip().lower()
        is_json = media_type.endswith((b"/json", b"+json"))  # application/fhir+json too
        if not (is_json or media_type == FORM_TYPE):
            await self.app(scope, receive, send)
            return
        try:
            body, messages = await _read_all(receive)
        except BodyTooLarge as exc:
            await _answer(send, body_over(exc.limit))
            return
        if b"\x00" in body or b"\\u0000" in body or b"%00" in body:
            await _answer(send, ValidationFailed("body", NUL_RULE))
            return
        if is_json and _may_nest_too_deep(body) and json_depth(body) > MAX_DEPTH:
            await _answer(send, too_deep("body"))
            return
        await self.app(scope, _replay(messages, receive), send)


def _counted(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


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


def _may_nest_too_deep(body: bytes) -> bool:
    """Whether the body holds more opening brackets than MAX_DEPTH: no text can nest deeper
    than it has brackets, so most bodies are passed without json_depth's scan (whose setup
    cost more than the rest of a small request's checks)."""
    return body.count(b"[") + body.count(b"{") > MAX_DEPTH


def body_over(limit: int) -> TooLarge:
    return TooLarge("body", "must be at most %(limit)s bytes", limit=f"{limit:,}")


async def _answer(send: Send, refused: ValidationFailed) -> None:
    """The refusal's JSON body, as the app's error handlers answer it (errors.DomainError)."""
    body = json.dumps(refused.to_record()).encode()
    await send({"type": "http.response.start", "status": refused.status_code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
