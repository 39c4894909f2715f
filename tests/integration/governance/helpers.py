"""Arrangements shared by the governance integration tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.schemas import PeriodDef
from mutua.governance import service
from tests import factories

TODAY = date(2026, 6, 15)
# Voting opens once the policies below are in force (cover starts the day after enrolment).
OPEN_AT = datetime(2026, 6, 20, 2, 0, tzinfo=UTC)
CLOSE_AT = OPEN_AT + timedelta(days=14)
DURING = OPEN_AT + timedelta(days=1)
AFTER = CLOSE_AT + timedelta(hours=1)
SECRETARY = Principal(user_id=900, username="secretary", role=Role.SECRETARY)


def as_member(m) -> Principal:
    return Principal(user_id=10_000 + m.id, username=m.member_number, role=Role.MEMBER,
                     member_id=m.id)


def pool(db, *, code="GOV", members=4, login=False):
    """A project with ``members`` insured members and a later period P2 not yet on sale."""
    product = factories.accident_project(db, code=code, today=TODAY)
    people = []
    for _ in range(members):
        m = factories.member(db, login=login)
        factories.policy(db, member=m, product_code=product.code, on=TODAY)
        people.append(m)
    p2 = catalog_service.create_period(
        db, product_code=product.code, actor=SYSTEM,
        period=PeriodDef(code="P2", sale_start=date(2027, 1, 1), sale_end=date(2027, 3, 31),
                         cover_start=date(2027, 1, 1)))
    return product, p2, people


def motion(db, project_id, **kw):
    args = dict(kind="motion", project_id=project_id, title_zh="测试议案", title_en="A motion",
                quorum="0.5", opens_at=OPEN_AT, closes_at=CLOSE_AT, actor=SECRETARY,
                today=TODAY)
    args.update(kw)
    return service.create_proposal(db, **args)


def grid_cells(db, product, coefficient="1.1"):
    table_id = db.get(type(product), product.id).periods[0].coefficient_table_id
    return [{"age_min": c.age_min, "age_max": c.age_max, "occupation_class": c.occupation_class,
             "coefficient": coefficient}
            for c in catalog_service.table_cells(db, table_id=table_id)]
