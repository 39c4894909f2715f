"""Passed proposals take effect; invalid payloads are refused before anyone votes."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from mutua.audit.models import AuditEvent
from mutua.catalog import service as catalog_service
from mutua.catalog.models import CoefficientTable, SalePeriod
from mutua.claims.models import Claim
from mutua.errors import ValidationFailed
from mutua.governance import ballots as governance_ballots
from mutua.governance import experience, service
from tests import factories
from tests.integration.governance.helpers import (
    AFTER,
    DURING,
    OPEN_AT,
    SECRETARY,
    TODAY,
    as_member,
    grid_cells,
    motion,
    pool,
)


def _vote_through(db, p, people, choice="yes", now_open=OPEN_AT, during=DURING, after=AFTER):
    service.open_proposal(db, proposal_id=p.id, actor=SECRETARY, now=now_open)
    for m in people:
        governance_ballots.cast_ballot(db, proposal_id=p.id, choice=[choice], actor=as_member(m),
                                       now=during)
    return service.close_proposal(db, proposal_id=p.id, actor=SECRETARY, now=after)


def test_pricing_enacted_into_the_next_period_only(db):
    product, p2, people = pool(db)
    p1_table = db.get(SalePeriod, product.periods[0].id).coefficient_table_id
    p = motion(db, product.project_id, kind="pricing", threshold="two_thirds",
               payload={"product_id": product.id, "period_id": p2.id,
                        "cells": grid_cells(db, product, "1.05")})
    _vote_through(db, p, people)
    assert p.passed and p.enactment_status == "enacted", p.enactment
    table = db.get(CoefficientTable, p.enactment["coefficient_table_id"])
    assert table.source == f"proposal:{p.id}"
    assert db.get(SalePeriod, p2.id).coefficient_table_id == table.id
    assert db.get(SalePeriod, product.periods[0].id).coefficient_table_id == p1_table
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "proposal.enact"))


def test_a_coefficient_table_with_a_missing_cell_is_refused(db):
    product, p2, _ = pool(db)
    cells = grid_cells(db, product)[:-1]
    with pytest.raises(ValidationFailed) as err:
        motion(db, product.project_id, kind="pricing",
               payload={"product_id": product.id, "period_id": p2.id, "cells": cells})
    assert err.value.problems[0].field == "payload.cells"
    assert "missing cell" in err.value.problems[0].rule


def test_pricing_for_a_period_already_on_sale_is_refused(db):
    product, _, _ = pool(db)
    with pytest.raises(ValidationFailed, match="already on sale"):
        motion(db, product.project_id, kind="pricing",
               payload={"product_id": product.id, "period_id": product.periods[0].id,
                        "cells": grid_cells(db, product)})


def test_enactment_refused_if_the_period_went_on_sale_during_the_vote(db):
    product, p2, people = pool(db)
    before = db.get(SalePeriod, p2.id).coefficient_table_id
    p = motion(db, product.project_id, kind="pricing",
               payload={"product_id": product.id, "period_id": p2.id,
                        "cells": grid_cells(db, product)})
    late = datetime(2027, 1, 2, 2, tzinfo=UTC)  # the vote closes after P2's sale started
    p.closes_at = late
    _vote_through(db, p, people, after=late)
    assert p.passed and p.enactment_status == "refused"
    assert "already on sale" in p.enactment["reason"]
    assert db.get(SalePeriod, p2.id).coefficient_table_id == before


def test_allocation_shares_must_add_to_100_percent(db):
    product, _, _ = pool(db)
    with pytest.raises(ValidationFailed) as err:
        motion(db, product.project_id, kind="allocation", threshold="two_thirds",
               payload={"uplift": "0.6", "aid": "0.3", "services": "0.2",
                        "effective_from": "2026Q4"})
    assert err.value.problems[0].field == "payload.shares"


def test_allocation_for_a_quarter_already_over_is_refused(db):
    product, _, _ = pool(db)
    with pytest.raises(ValidationFailed) as err:
        motion(db, product.project_id, kind="allocation",
               payload={"uplift": "0.6", "aid": "0.3", "services": "0.1",
                        "effective_from": "2026Q1"})
    assert err.value.problems[0].field == "payload.effective_from"


def test_allocation_enacted_into_the_next_close(db):
    settlement = importlib.import_module("mutua.settlement.service") if importlib.util.find_spec(
        "mutua.settlement.service") else None
    if settlement is None or not hasattr(settlement, "adopt_allocation_policy"):
        pytest.skip("settlement.service.adopt_allocation_policy has not landed")
    product, _, people = pool(db)
    p = motion(db, product.project_id, kind="allocation", threshold="two_thirds",
               payload={"uplift": "0.6", "aid": "0.3", "services": "0.1",
                        "effective_from": "2026Q4"})
    _vote_through(db, p, people)
    assert p.enactment_status == "enacted", p.enactment
    assert p.enactment["effective_from"] == "2026Q4"


def test_a_failed_vote_enacts_nothing(db):
    product, p2, people = pool(db)
    before = db.get(SalePeriod, p2.id).coefficient_table_id
    p = motion(db, product.project_id, kind="pricing",
               payload={"product_id": product.id, "period_id": p2.id,
                        "cells": grid_cells(db, product)})
    _vote_through(db, p, people, choice="no")
    assert not p.passed and p.enactment_status == "none"
    assert db.get(SalePeriod, p2.id).coefficient_table_id == before


def _claim(db, policy, day, amount, n):
    db.add(Claim(claim_number=f"T{n:06d}", project_id=policy.project_id, policy_id=policy.id,
                 member_id=policy.member_id, event_type="accident", event_date=day,
                 reported_on=day, status="closed", approved=Decimal(amount),
                 paid=Decimal(amount), closed_on=day))


def test_pricing_proposal_from_experience(db):
    product, p2, _ = pool(db, members=0)
    n = 0
    for occupation, birth, per_quarter in (("A0101", date(1990, 1, 1), "100"),
                                           ("E0501", date(1990, 1, 1), "900"),
                                           ("A0101", date(1970, 1, 1), "200"),
                                           ("E0501", date(1970, 1, 1), "700")):
        for i in range(6):
            m = factories.member(db, occupation=occupation, birth=birth)
            pol = factories.policy(db, member=m, product_code=product.code, on=TODAY)
            for q_day in (date(2026, 8, 1), date(2026, 11, 1)):
                n += 1
                _claim(db, pol, q_day + timedelta(days=i), Decimal(per_quarter) * (1 + i % 3), n)
    db.flush()
    today = date(2026, 12, 20)
    opens = datetime(2026, 12, 20, 2, tzinfo=UTC)
    p = experience.generate_pricing_proposal(
        db, product_id=product.id, experience_from=date(2026, 7, 1),
        experience_to=date(2026, 12, 31), opens_at=opens, closes_at=opens + timedelta(days=7),
        actor=SECRETARY, today=today)
    assert p.kind == "pricing" and p.payload["period_id"] == p2.id
    rows = {(c["age_min"], c["occupation_class"]): c for c in p.payload["comparison"]}
    young = min(a for a, _ in rows)
    # riskier class 5 gets a smaller sum-insured coefficient than class 1
    r1, r5 = rows[(young, 1)], rows[(young, 5)]
    assert Decimal(r5["proposed"]) / Decimal(r5["current"]) < (
        Decimal(r1["proposed"]) / Decimal(r1["current"]))
    assert 0 < r1["credibility"] <= 1 and r1["exposure"] > 0
    # a cell with no members borrows the collective mean with no credibility
    assert rows[(young, 3)]["credibility"] == 0
    # the expected claim cost under the uniform premium is unchanged
    before = sum(float(c["current"]) * c["exposure"] * c["expected_rate"] for c in rows.values())
    after = sum(float(c["proposed"]) * c["exposure"] * c["expected_rate"] for c in rows.values())
    assert after == pytest.approx(before, rel=1e-3)
    assert len(catalog_service.table_cells(
        db, table_id=db.get(SalePeriod, p2.id).coefficient_table_id)) == len(p.payload["cells"])
