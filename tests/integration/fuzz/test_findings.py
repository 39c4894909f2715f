"""Inputs the schema fuzzer once turned into server errors; each now gets a clear 4xx."""

from mutua.auth.roles import Role
from tests import factories as f


def test_astronomical_premium_is_422(client, db):
    h = f.staff_headers(client, db, Role.ACTUARY)
    r = client.post("/api/v1/actuarial/earned", headers=h,
                    json={"premium": "1e100", "start": "2025-02-15", "end": "2026-02-14"})
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "premium"


def test_feedback_to_an_unknown_project_is_404(client, db):
    h = f.staff_headers(client, db, Role.SECRETARY)
    r = client.post("/api/v1/governance/feedback", headers=h,
                    json={"meeting_id": None, "project_id": 260206, "text": "hello"})
    assert r.status_code == 404


def test_nul_characters_are_refused_on_every_backend(client, db):
    h = f.staff_headers(client, db, Role.SECRETARY)
    r = client.post("/api/v1/governance/feedback", headers=h,
                    json={"meeting_id": None, "text": "\u0000n"})
    assert r.status_code == 422
    nul = "must not contain NUL (U+0000) characters"
    assert r.json()["problems"] == [{"field": "body", "rule": nul, "code": nul, "params": {}}]
    assert client.get("/api/v1/members?q=a%00b", headers=h).status_code == 422
