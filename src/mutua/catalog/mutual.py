"""The mutual-wide project: the one project that owns what belongs to the whole mutual.

A mutual-wide proposal's ballots, a member's account notices and a vote's notices to every
member, a patient's labs before any kidney policy: rows of large tables that belong to no
insurance pool. Each large table keeps ``project_id`` NOT NULL and in a key so the schema
can be distributed by project (docs/operations.md "Beyond one server"); these rows take
this project's id.

It is not a pool. Its code, ``MUTUAL_CODE``, is outside what the catalogue accepts for a
project code (letters, digits, ``_`` and ``-``), so no catalogue file can name it, sell a
product in it or reuse it; ``catalog.service`` leaves it out of the project list and does
not find it by code, so no close, statement, picker or electorate meets it. It has no
books (the project-created hook that opens them is not called for it) and no products.

Migration 0019 creates it on a database that has data; a fresh database gets it from the
first catalogue loaded, and every writer that needs it finds or creates it here, so the rows
never wait on a seed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mutua.catalog.models import Project

MUTUAL_CODE = "(mutual)"
MUTUAL_PROJECT = {"code": MUTUAL_CODE, "name_zh": "全体会员", "name_en": "The whole mutual",
                  "target_group": "every member (not an insurance pool)", "status": "active"}


def is_pool() -> ColumnElement[bool]:
    """WHERE clause over ``projects``: the insurance pools, not the mutual-wide project."""
    return Project.code != MUTUAL_CODE


def mutual_project_id(db: Session) -> int:
    """The id of the mutual-wide project, created the first time it is needed."""
    found = _find(db)
    if found is not None:
        return found
    try:
        with db.begin_nested():  # a concurrent first writer may create it at the same time
            db.add(Project(**MUTUAL_PROJECT))
    except IntegrityError:
        pass  # the other writer's row (its code is unique) is the one
    return _find(db)


def _find(db: Session) -> int | None:
    return db.scalar(select(Project.id).where(Project.code == MUTUAL_CODE))
