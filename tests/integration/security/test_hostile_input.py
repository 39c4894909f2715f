"""Hostile input and deployment mistakes, each as it was seen, each with the answer it now gets.

One test (or a few) per finding of the attack on a copy of the demo: every one got a 5xx, a
dead server, a forged identity or a stored 10 MB string before, and gets a clear 4xx, a
refusal or a single winner now. docs/security.md lists them with the answer.
"""

from __future__ import annotations

from sqlalchemy import func, select

from mutua.auth.roles import Role
from mutua.settlement.models import Close, Expense
from tests import factories as f


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


# --- quarters: YYYYQn of a supported year, one parser (issue 15 item 5, issue 14 item 5) ------

def test_a_close_of_quarter_9999q4_or_0000q1_is_a_422_naming_the_quarter(client, db):
    f.accident_project(db)
    headers = f.staff_headers(client, db, Role.FINANCE)
    for quarter in ("9999Q4", "0000Q1"):
        r = client.post("/api/v1/settlement/closes", headers=headers,
                        json={"project": "TEST-ACC", "quarter": quarter, "dry_run": True})
        assert r.status_code == 422, r.text
        assert r.json()["problems"][0]["field"] == "quarter"
    assert count(db, Close) == 0


def test_an_expense_for_quarter_0000q1_is_refused_not_stored_as_0q1(client, db):
    f.accident_project(db)
    headers = f.staff_headers(client, db, Role.FINANCE)
    r = client.post("/api/v1/settlement/expenses", headers=headers,
                    json={"project": "TEST-ACC", "quarter": "0000Q1", "amount": "10.00",
                          "memo": "rent"})
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["field"] == "quarter"
    assert count(db, Expense) == 0
