"""policies.membership: who belongs to a project and who is in force, as other domains ask."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from mutua.policies import membership
from tests import factories as f
from tests.integration.settlement.conftest import ENROLLED, SALE_START


def test_members_of_a_project_and_members_in_force(db):
    product = f.accident_project(db, code="MEMB-A", today=SALE_START, sale_start=SALE_START,
                                 sale_end=date(2025, 3, 31))
    other = f.accident_project(db, code="MEMB-B", today=SALE_START, sale_start=SALE_START,
                               sale_end=date(2025, 3, 31))
    a, b, outsider = (f.member(db, name=n) for n in ("甲", "乙", "丙"))
    f.policy(db, member=a, product_code=product.code, on=ENROLLED)
    f.policy(db, member=b, product_code=other.code, on=ENROLLED)
    db.commit()
    pid = product.project_id
    assert membership.is_member_of(db, member_id=a.id, project_id=pid)
    assert not membership.is_member_of(db, member_id=b.id, project_id=pid)
    assert membership.members_among(db, project_id=pid,
                                    member_ids=[a.id, b.id, outsider.id]) == {a.id}
    assert list(db.scalars(membership.projects_of(a.id))) == [pid]
    on = date(2025, 6, 1)
    assert set(db.scalars(membership.in_force_members(pid, on))) == {a.id}
    assert set(db.scalars(membership.in_force_members(None, on))) == {a.id, b.id}
    # cover starts the day after enrolment
    assert set(db.scalars(membership.in_force_members(None, ENROLLED))) == set()
    assert db.scalar(select(membership.member_of(outsider.id, pid))) is False
