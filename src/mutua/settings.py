"""Configuration from the environment (MUTUA_*), with defaults that run on a bare machine."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_KEY_LENGTH = 32
# Keys that were ever printed in this source or its docs: anyone can sign with them.
PUBLISHED_KEYS = frozenset({"mutua-demo-secret-change-me-in-production-0123456789"})


class SecretKeyRefused(RuntimeError):
    """The server will not sign tokens and cookies with this key (or without one)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUTUA_", extra="ignore")

    database_url: str = "sqlite:///var/mutua.db"
    # Signs JWTs and session cookies. No default: a key from the source lets anyone sign as
    # anyone. `mutua serve` refuses to start without it, except over the demo, whose key
    # `mutua demo` makes at random and keeps in demo_key_file.
    secret_key: str | None = Field(default=None, repr=False)
    demo_key_file: Path = Path("var/demo-secret.key")
    # Verifies the payment provider's signed callbacks (HMAC-SHA256). No default: without
    # it every callback is refused (payments.provider).
    payment_callback_secret: str | None = Field(default=None, repr=False)
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    upload_dir: Path = Path("var/uploads")
    upload_max_bytes: int = 10 * 1024 * 1024
    import_max_bytes: int = 200 * 1024 * 1024
    import_max_rows: int = 1_000_000
    # An .xlsx is a zip: what its parts may unpack to, and what reading it may take (its own
    # process, so a zip bomb takes that process and not the server: members/xlsx_reader.py).
    import_max_unpacked_bytes: int = 1024 * 1024 * 1024
    import_max_memory_bytes: int = 3 * 1024 * 1024 * 1024
    import_max_seconds: int = 300
    # Claims at or below this amount whose rules all pass are decided without a handler.
    auto_decide_limit_yuan: int = 5000
    # A handler's override approving more than the engine by more than this (summed over the
    # claim's items) waits for a second handler's approval (four eyes, 四眼原则).
    override_second_approval_yuan: int = Field(default=10000, ge=0)
    # Failed sign-ins per minute before even the right password waits: per account (however
    # its login is spelt) and per client address (one machine trying many accounts).
    login_attempts_per_minute: int = Field(default=10, ge=1)
    login_attempts_per_minute_per_address: int = Field(default=50, ge=1)
    # One-time codes sent by SMS to prove a phone (sign-up, password reset): how long one
    # lives, how many wrong tries it takes, and how many may be sent in an hour to one phone
    # and from one client address (counted in the database: docs/members.md).
    phone_code_minutes: int = Field(default=5, ge=1, le=60)
    phone_code_attempts: int = Field(default=5, ge=1, le=20)
    phone_codes_per_hour_per_phone: int = Field(default=5, ge=1)
    phone_codes_per_hour_per_address: int = Field(default=20, ge=1)
    # SMS: "console" writes messages to sms_console_file (demo, tests); "http" posts them to
    # an SMS gateway (messaging/sms.py).
    sms_backend: Literal["console", "http"] = "console"
    sms_console_file: Path = Path("var/sms-outbox.log")
    sms_gateway_url: str | None = None
    sms_gateway_key: str | None = Field(default=None, repr=False)
    sms_sender_name: str = "Mutua"
    # E-mail: "console" writes messages to email_console_file; "smtp" sends them
    # (messaging/email.py).
    email_backend: Literal["console", "smtp"] = "console"
    email_console_file: Path = Path("var/email-outbox.log")
    email_from: str = "noreply@mutua.local"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_starttls: bool = False
    # Notifications (notify/delivery.py): deliveries a worker round sends, and how many
    # times one is tried before it is given up as failed.
    notify_batch: int = Field(default=500, ge=1, le=100_000)
    notify_max_attempts: int = Field(default=5, ge=1, le=20)
    default_locale: str = "zh_CN"
    # Threads per server process that run the routes and dependencies declared with plain
    # `def`. anyio's default of 40 let every request in flight share the GIL at once, and one
    # in a hundred waited seconds. With the database on the same machine a request waits for
    # it a few hundredths of the time it runs Python, so one thread (and the rest queued in
    # order) answers most: a second made each round trip wait for the other's hold on the
    # interpreter (docs/performance.md, "One request thread"). A database across a network
    # wants more (docs/operations.md, "Request threads").
    request_threads: int = Field(default=1, ge=1, le=1000)
    # Reports and statements read from a streaming replica when this is set (docs/operations.md,
    # "Beyond one server"); a replica further behind the primary than read_max_lag_seconds is
    # passed over for the primary, and a report read on the replica says how far behind it was.
    read_database_url: str | None = None
    read_max_lag_seconds: float = Field(default=30, ge=0, le=86400)
    # Background jobs (docs/operations.md, "Workers"). "auto": the app runs an embedded worker
    # thread on SQLite (so the demo needs nothing else) and none on PostgreSQL, where
    # `mutua worker` processes take the queue.
    worker_in_app: Literal["auto", "on", "off"] = "auto"
    # A running job whose worker has not been heard from for this long is taken as dead and
    # run again (or failed, for work that commits in steps). Workers beat four times as often.
    job_stale_seconds: float = Field(default=60, gt=0, le=3600)

    def signing_key(self) -> str:
        """The key that signs tokens and cookies, or SecretKeyRefused saying what to do."""
        key = self.secret_key
        if not key:
            raise SecretKeyRefused(
                "MUTUA_SECRET_KEY is not set: set it to a long random value, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))' "
                "(or run `mutua demo` for a demo that makes its own key)")
        if key in PUBLISHED_KEYS:
            raise SecretKeyRefused("MUTUA_SECRET_KEY is the example key printed in the source; "
                                   "anyone could sign with it: set a random one")
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise SecretKeyRefused(f"MUTUA_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} "
                                   f"characters long (it has {len(key)})")
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
