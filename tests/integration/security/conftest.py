import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(app):
    """Server errors come back as 500 answers (to be reported), not as exceptions in the test."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
