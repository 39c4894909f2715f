"""Server settings that take effect when the app starts."""

from __future__ import annotations

import gc

import pytest
from anyio import to_thread
from fastapi.testclient import TestClient
from pydantic import ValidationError

from mutua.settings import Settings
from mutua.web.app import create_app


def test_the_request_thread_pool_is_sized_from_the_settings(settings, engine):
    app = create_app(settings.model_copy(update={"request_threads": 6}), engine=engine)
    with TestClient(app) as client:
        limiter_size = client.portal.call(
            lambda: to_thread.current_default_thread_limiter().total_tokens)
        assert limiter_size == 6
        assert client.get("/healthz").json() == {"status": "ok"}
        # the app's long-lived objects are out of the collector's full passes
        assert gc.get_freeze_count() > 10_000


@pytest.mark.parametrize("threads", ["0", "-3", "many"])
def test_a_request_thread_count_that_is_not_a_positive_number_is_refused(monkeypatch, threads):
    monkeypatch.setenv("MUTUA_REQUEST_THREADS", threads)
    with pytest.raises(ValidationError, match="request_threads"):
        Settings()
