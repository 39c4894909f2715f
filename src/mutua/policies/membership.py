"""Who belongs to a project, as other domains ask it: the small read interface of policies.

A member belongs to a project (for its meetings, proposals and elections) once they have
held a policy there, whatever became of it; a member is in force on a day when a policy of
theirs is in force and covers that day. Other domains ask here instead of reading the
policies table themselves, so the rule is written once.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Select, exists, select
from sqlalchemy.orm import Session

from mutua.catalog.models import Product
from mutua.db import batched, one_of
from mutua.policies.models import Policy

BATCH = 5000
KIDNEY_CARE_LINE = "ckd"  # Product.line of the kidney-care (CKD) products


def member_of(member_id: int, project_id) -> ColumnElement[bool]:
    """The SQL condition "``member_id`` has held a policy in ``project_id``"; the project
    may be a column, for a condition correlated with another table."""
    return exists().where(Policy.member_id == member_id, Policy.project_id == project_id)


def is_member_of(db: Session, *, member_id: int, project_id: int) -> bool:
    """Whether the member has held a policy in the project."""
    return bool(db.scalar(select(member_of(member_id, project_id))))


def projects_of(member_id: int) -> Select:
    """The ids of the projects the member has held a policy in, as a subquery."""
    return select(Policy.project_id).where(Policy.member_id == member_id)


def members_among(db: Session, *, project_id: int, member_ids: list[int]) -> set[int]:
    """Those of ``member_ids`` who have held a policy in the project (in batches)."""
    inside: set[int] = set()
    for batch in batched(member_ids, BATCH):
        inside.update(db.scalars(select(Policy.member_id).distinct().where(
            Policy.project_id == project_id, one_of(db, Policy.member_id, batch))))
    return inside


def in_force_members(project_id: int | None, on: date) -> Select:
    """The distinct ids of members with a policy in force on ``on`` (in one project, or in
    any with None), as a SELECT to build on (an INSERT ... SELECT, a count)."""
    stmt = (select(Policy.member_id)
            .where(Policy.status == "in_force", Policy.cover_start <= on, Policy.cover_end >= on)
            .distinct())
    return stmt if project_id is None else stmt.where(Policy.project_id == project_id)


def kidney_policies(*columns) -> Select:
    """A SELECT of ``columns`` (of policies) over the policies of kidney-care products: the
    patients health/ looks after and the project their data belongs to."""
    return (select(*columns).join(Product, Product.id == Policy.product_id)
            .where(Product.line == KIDNEY_CARE_LINE))
