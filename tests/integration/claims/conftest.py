"""A small world for claims tests: an accident project, a member with a policy in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from mutua.dates import today as shanghai_today
from mutua.ledger import service as ledger_service
from tests import factories as f

TODAY = shanghai_today()


@dataclass
class World:
    product: object
    project_id: int
    member: object
    policy: object
    other: object
    other_policy: object


@pytest.fixture
def world(db) -> World:
    product = f.accident_project(db, today=TODAY)
    m = f.member(db, name="张三丰", login=True, city="深圳")
    other = f.member(db, name="李四", login=True)
    enrolled = TODAY - timedelta(days=25)  # cover starts the day after
    p = f.policy(db, member=m, on=enrolled)
    q = f.policy(db, member=other, on=enrolled)
    # Two members' premium cannot pay a 30,000 yuan claim: finance approved an overdraft
    # (tests of the cash check withdraw it).
    f.overdraft(db, project_id=product.project_id)
    db.commit()
    return World(product, product.project_id, m, p, other, q)


def assert_books_balance(db) -> None:
    for tb in ledger_service.trial_balance(db):
        assert tb.total == 0, tb


def accident(policy_id: int, *items: dict, days_ago: int = 5, **extra) -> dict:
    return {"policy_id": policy_id, "event_type": "accident",
            "event_date": (TODAY - timedelta(days=days_ago)).isoformat(),
            "place": "深圳市南山区", "description": "fell from an e-bike",
            "items": list(items), **extra}
