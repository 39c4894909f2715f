"""The mutual-wide project (catalog/mutual.py): what belongs to the whole mutual has a project,
and nothing treats that project as an insurance pool.

Rows of the large tables that belong to no pool (a mutual-wide vote's ballots and notices,
an account notice, a patient's labs before any kidney policy) take its id, so project_id is
never NULL; no project list, look-up by code, close, trial balance or solvency report meets
it, it has no books, and no catalogue can name it.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Integer, cast, func, literal, null, select

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.catalog import service as catalog_service
from mutua.catalog.models import Project
from mutua.catalog.mutual import MUTUAL_CODE, mutual_project_id
from mutua.errors import NotFound, ValidationFailed
from mutua.governance import ballots
from mutua.governance import service as governance
from mutua.governance.models import Ballot
from mutua.health import service as health
from mutua.health.models import Observation
from mutua.ledger import service as ledger
from mutua.ledger.models import Account
from mutua.members.models import Member
from mutua.notify import delivery
from mutua.notify import service as notify
from mutua.notify.models import Delivery, Notification
from mutua.settlement import capital, quarter_close
from tests import factories
from tests.integration.governance.helpers import DURING, OPEN_AT, as_member, motion, pool
from tests.integration.health.test_health_flow import NO_RISKS, _kidney_project, obs


def test_it_is_made_once_and_found_again(db):
    first = mutual_project_id(db)
    assert mutual_project_id(db) == first
    assert db.scalar(select(func.count()).select_from(Project)
                     .where(Project.code == MUTUAL_CODE)) == 1


def test_loading_a_catalogue_makes_it_and_leaves_it_out_of_the_pools(db):
    product = factories.accident_project(db, code="POOL")
    mutual = db.scalar(select(Project).where(Project.code == MUTUAL_CODE))
    assert mutual is not None and mutual.products == []
    assert [p.code for p in catalog_service.list_projects(db)] == ["POOL"]
    with pytest.raises(NotFound):
        catalog_service.get_project(db, code=MUTUAL_CODE)
    assert product.project_id != mutual.id
    # No books: the hook that opens a pool's ledger is not called for it.
    assert db.scalar(select(func.count()).select_from(Account)
                     .where(Account.project_id == mutual.id)) == 0
    assert [t.project_code for t in ledger.trial_balance(db)] == ["POOL"]


def test_the_projects_api_lists_only_the_pools(client, db):
    factories.accident_project(db, code="POOL")
    headers = factories.staff_headers(client, db, Role.ADMIN)
    db.commit()
    got = client.get("/api/v1/catalog/projects", headers=headers).json()
    assert [p["code"] for p in got["items"]] == ["POOL"] and got["total"] == 1


def test_no_catalogue_can_name_it(db):
    raw = factories.accident_definition(code="ANY", sale_start=date(2026, 1, 1),
                                        sale_end=date(2026, 12, 31))
    raw["project"]["code"] = MUTUAL_CODE
    with pytest.raises(ValidationFailed) as exc:
        catalog_service.check_definition(raw)
    assert exc.value.problems[0].field == "project.code"


def test_it_is_never_closed_nor_waited_for_in_the_solvency_report(db):
    factories.accident_project(db, code="POOL")
    with pytest.raises(NotFound):
        quarter_close.close_quarter(db, project_code=MUTUAL_CODE, quarter="2026Q1",
                                    actor=SYSTEM)
    assert capital.solvency_report(db, quarter="2026Q1")["not_closed"] == ["POOL"]


def test_notices_without_a_project_are_the_mutuals_and_so_are_their_deliveries(db):
    factories.accident_project(db, code="POOL")
    m = factories.member(db)
    db.flush()
    notify.tell(db, member_id=m.id, project_id=None, event="account.ready")
    notify.tell_members(db, event="premium.due", member_ids=[m.id], project_ids=[None])
    notify.tell_from_select(db, event="vote.opened", rows=select(
        cast(null(), Integer).label("project_id"), Member.id, literal(1), literal(""),
        cast(null(), Integer))
        .where(Member.id == m.id))
    db.flush()
    mutual = mutual_project_id(db)
    assert db.scalars(select(Notification.project_id)).all() == [mutual] * 3
    assert delivery.dispatch(db) == 3
    assert set(db.scalars(select(Delivery.project_id))) == {mutual}


def test_a_mutual_wide_votes_ballots_and_notices_are_kept_under_the_mutual(db):
    product, _, people = pool(db)
    p = motion(db, None)
    governance.open_proposal(db, proposal_id=p.id, actor=SYSTEM, now=OPEN_AT)
    ballots.cast_ballot(db, proposal_id=p.id, choice=["yes"], actor=as_member(people[0]),
                        now=DURING)
    mutual = mutual_project_id(db)
    assert db.scalars(select(Ballot.project_id)).all() == [mutual]
    told = db.scalars(select(Notification.project_id).where(Notification.event == "vote.opened"))
    assert set(told) == {mutual}
    assert governance.count(db, proposal=p).counts["yes"] == 1
    # A project's vote keeps its ballots under the project.
    own = motion(db, product.project_id)
    governance.open_proposal(db, proposal_id=own.id, actor=SYSTEM, now=OPEN_AT)
    ballots.cast_ballot(db, proposal_id=own.id, choice=["no"], actor=as_member(people[1]),
                        now=DURING)
    assert db.scalar(select(Ballot.project_id).where(Ballot.proposal_id == own.id)) \
        == product.project_id


def test_labs_belong_to_the_kidney_project_or_before_it_to_the_mutual(db):
    from mutua.policies import service as policies_service

    _kidney_project(db)
    patient = factories.member(db, birth=date(1960, 2, 1), sex="F")
    db.flush()
    labs = [obs(patient.id, "2160-0", 1.6, "mg/dL", "2025-06-02"),
            obs(patient.id, "9318-7", 80, "mg/g", "2025-06-02")]
    health.record(db, actor=SYSTEM, items=labs)
    mutual = mutual_project_id(db)
    assert db.scalars(select(Observation.project_id)).all() == [mutual, mutual]
    policy = policies_service.enrol(db, member_id=patient.id, product_code="KID-G3B-BASIC",
                                    period_code="2025P1", actor=SYSTEM, on=date(2025, 6, 30),
                                    declaration=NO_RISKS)
    health.record(db, actor=SYSTEM, items=[obs(patient.id, "2160-0", 1.7, "mg/dL",
                                               "2025-07-02")])
    later = db.scalar(select(Observation.project_id).order_by(Observation.id.desc()).limit(1))
    assert later == policy.project_id != mutual
