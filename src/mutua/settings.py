"""Configuration from the environment (MUTUA_*), with defaults that run on a bare machine."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MUTUA_", extra="ignore")

    database_url: str = "sqlite:///var/mutua.db"
    # Signs JWTs and session cookies. The default is for the demo only; production sets its own.
    secret_key: str = "mutua-demo-secret-change-me-in-production-0123456789"
    access_token_minutes: int = 30
    upload_dir: Path = Path("var/uploads")
    upload_max_bytes: int = 10 * 1024 * 1024
    import_max_bytes: int = 200 * 1024 * 1024
    import_max_rows: int = 1_000_000
    # Claims at or below this amount whose rules all pass are decided without a handler.
    auto_decide_limit_yuan: int = 5000
    login_attempts_per_minute: int = 10
    default_locale: str = "zh_CN"
    # Threads per server process that run the routes and dependencies declared with plain
    # `def`. anyio's default of 40 let every request in flight share the GIL at once, and one
    # in a hundred waited seconds; two keep one thread in Python while the other waits for the
    # database, and queue the rest in order. A database across a network wants more (see
    # docs/operations.md, "Request threads").
    request_threads: int = Field(default=2, ge=1, le=1000)
    # Background jobs (docs/operations.md, "Workers"). "auto": the app runs an embedded worker
    # thread on SQLite (so the demo needs nothing else) and none on PostgreSQL, where
    # `mutua worker` processes take the queue.
    worker_in_app: Literal["auto", "on", "off"] = "auto"
    # A running job whose worker has not been heard from for this long is taken as dead and
    # run again (or failed, for work that commits in steps). Workers beat four times as often.
    job_stale_seconds: float = Field(default=60, gt=0, le=3600)


@lru_cache
def get_settings() -> Settings:
    return Settings()
