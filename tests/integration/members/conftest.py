"""The CLI runner of the jobs tests (MUTUA_DATABASE_URL set to the test database)."""

from tests.integration.jobs.test_jobs import cli  # noqa: F401
