"""Sending e-mail through one interface: SMTP (``MUTUA_EMAIL_BACKEND=smtp``), or a console
sender that writes each message as a JSON line to ``MUTUA_EMAIL_CONSOLE_FILE`` (the demo's
default: nothing leaves the machine).

The SMTP sender is the standard library's ``smtplib`` (STARTTLS when asked, login when a
user is set); tests run it against a real SMTP server on localhost (aiosmtpd).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

from mutua.dates import utcnow
from mutua.messaging.channel import ConsoleFile, SendFailed

log = logging.getLogger(__name__)


class EmailFailed(SendFailed):
    """The message was not accepted; ``retry`` says whether trying again may help."""


class EmailSender(Protocol):
    def send(self, to: str, subject: str, text: str) -> str:
        """Send a plain-text message; its Message-ID."""
        ...


def mask_email(address: str) -> str:
    """l***@example.cn: enough to tell which address, not to write to it.

    >>> mask_email("lilei@example.cn")
    'l***@example.cn'
    """
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


class ConsoleEmail(ConsoleFile):
    """Writes each message as a JSON line to a file (and keeps it in ``sent``)."""

    def send(self, to: str, subject: str, text: str) -> str:
        message_id = make_msgid(domain="mutua.local")
        self.write({"id": message_id, "at": utcnow().isoformat(), "to": to,
                    "subject": subject, "text": text})
        log.info("email %s to %s (console)", message_id, mask_email(to))
        return message_id


@dataclass(frozen=True)
class SmtpEmail:
    host: str
    port: int = 25
    sender: str = "noreply@mutua.local"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout_seconds: float = 15.0

    def send(self, to: str, subject: str, text: str) -> str:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise EmailFailed("the server refused the address", retry=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise EmailFailed(f"SMTP failed: {type(exc).__name__}") from None
        log.info("email %s to %s (smtp)", message["Message-ID"], mask_email(to))
        return str(message["Message-ID"])


_console_senders: dict[Path, ConsoleEmail] = {}


def email_sender(settings) -> EmailSender:
    if settings.email_backend == "smtp":
        return SmtpEmail(host=settings.smtp_host, port=settings.smtp_port,
                         sender=settings.email_from, user=settings.smtp_user,
                         password=settings.smtp_password, starttls=settings.smtp_starttls)
    path = Path(settings.email_console_file)
    return _console_senders.setdefault(path, ConsoleEmail(path))
