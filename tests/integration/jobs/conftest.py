"""Jobs tests run queued jobs themselves (tests.jobs.finish_jobs or the executor), so the app
starts no embedded worker here: what a test sees does not depend on a thread's timing."""

from __future__ import annotations

import pytest


@pytest.fixture
def settings(engine, tmp_path):
    from mutua.settings import Settings

    return Settings(database_url=engine.test_url, upload_dir=tmp_path / "uploads",
                    login_attempts_per_minute=1000, worker_in_app="off")
