"""Sending SMS through one interface, whatever carries the message.

``sms_sender(settings)`` picks the sender ``MUTUA_SMS_BACKEND`` names:

- ``console`` (the default, for the demo and tests): each message is one JSON line appended to
  ``MUTUA_SMS_CONSOLE_FILE`` (``var/sms-outbox.log``), where a person trying the demo, or a
  browser journey, reads the code it carries. Nothing leaves the machine.
- ``http``: an SMS gateway over HTTPS (``HttpSmsGateway``). Most Chinese and international
  gateways take a JSON POST with a key; the adapter sends
  ``{"to": "+86...", "text": "...", "sender": "..."}`` with ``Authorization: Bearer <key>``
  and reads the gateway's message id from ``{"id": ...}``.

A sender raises ``SmsFailed`` when the message did not go; callers decide whether to retry.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mutua.dates import utcnow
from mutua.messaging.channel import ConsoleFile, SendFailed, read_lines

log = logging.getLogger(__name__)


def mask_phone(e164: str) -> str:
    """+8613800138000 -> +86138****8000"""
    return e164[:6] + "****" + e164[-4:]


class SmsFailed(SendFailed):
    """The SMS was not accepted; ``retry`` says whether trying again may help."""


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> str:
        """Send ``text`` to ``phone`` (E.164); the carrier's id of the message."""
        ...


class ConsoleSms(ConsoleFile):
    """Writes each message as a JSON line to a file (and keeps it in ``sent``)."""

    def send(self, phone: str, text: str) -> str:
        message_id = f"console-{uuid.uuid4().hex}"
        self.write({"id": message_id, "at": utcnow().isoformat(), "to": phone, "text": text})
        log.info("sms %s to %s (console)", message_id, mask_phone(phone))
        return message_id


def read_console(path: Path, phone: str | None = None) -> list[dict]:
    """The messages a console sender wrote to ``path`` (to one phone if given), oldest first."""
    return [m for m in read_lines(path) if phone is None or m["to"] == phone]


@dataclass(frozen=True)
class HttpSmsGateway:
    """An HTTP SMS gateway: POST JSON with a bearer key; 2xx with ``{"id": ...}`` is sent.

    A 4xx answer (a bad number, a refused text) is not worth retrying; a 5xx, 429 or a
    network failure is.
    """

    url: str
    key: str
    sender_name: str = "Mutua"
    timeout_seconds: float = 10.0

    def send(self, phone: str, text: str) -> str:
        import httpx

        try:
            answer = httpx.post(self.url, json={"to": phone, "text": text,
                                                "sender": self.sender_name},
                                headers={"Authorization": f"Bearer {self.key}"},
                                timeout=self.timeout_seconds)
        except httpx.HTTPError as exc:
            raise SmsFailed(f"gateway unreachable: {type(exc).__name__}") from None
        if answer.status_code >= 300:
            retry = answer.status_code >= 500 or answer.status_code == 429
            raise SmsFailed(f"gateway answered {answer.status_code}", retry=retry)
        try:
            message_id = str(answer.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise SmsFailed("gateway answered without a message id", retry=False) from None
        log.info("sms %s to %s (gateway)", message_id, mask_phone(phone))
        return message_id


_console_senders: dict[Path, ConsoleSms] = {}


def sms_sender(settings) -> SmsSender:
    """The sender the settings choose (one console sender per file, shared by threads)."""
    if settings.sms_backend == "http":
        if not settings.sms_gateway_url or not settings.sms_gateway_key:
            raise RuntimeError("MUTUA_SMS_BACKEND=http needs MUTUA_SMS_GATEWAY_URL and "
                               "MUTUA_SMS_GATEWAY_KEY")
        return HttpSmsGateway(url=settings.sms_gateway_url, key=settings.sms_gateway_key,
                              sender_name=settings.sms_sender_name)
    path = Path(settings.sms_console_file)
    return _console_senders.setdefault(path, ConsoleSms(path))
