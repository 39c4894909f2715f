"""The close reads its pool in ranges of policy ids (settlement/uplift.py); whatever the
size of a range, it raises the same rows by the same money as one array of every row
would (allocation.buy_uplift over all of them, the close as it was before ranges): the
same rate, the same fen left by rounding on the same rows, ties broken in policy order."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from benchmarks import settle
from mutua.db import make_engine, session_factory
from mutua.settlement import allocation, uplift

DAY = date(2025, 10, 1)  # the uplift day of the benchmark's 2025Q3 close


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """The settle benchmark's pool, 300 policies after two closes, with three coefficients
    so the rows' rates and fractions differ (and many still tie)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ranges') / 'pool.db'}"
    settle.build(url, 300, 30)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE policies SET coefficient = CASE id % 3 WHEN 0 THEN 1 "
                          "WHEN 1 THEN 0.5 ELSE 0.2 END"))
    db = session_factory(engine)()
    project_id = db.execute(text("SELECT id FROM projects WHERE code = :c"),
                            {"c": settle.CODE}).scalar()
    yield db, project_id
    db.close()
    engine.dispose()


def _whole(db, project_id: int, pot: int):
    """The oracle: every row in one array, bought as allocation does for an UpliftBasis."""
    found = uplift.candidates(db, project_id=project_id, day=DAY, chunk=10**9)
    (chunk,) = found.basis.chunks()
    basis = found.basis.basis(chunk)
    bought = allocation.buy_uplift(pot, basis)
    keep = bought.sum_insured_added > 0
    rows = (chunk["policy_id"][chunk["row_policy"]][keep],
            found.basis.term_benefit_id[chunk["row_term"]][keep],
            bought.money[keep], bought.sum_insured_added[keep])
    return found, bought, rows


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pot=st.one_of(st.integers(0, 3_000), st.integers(0, 20_000_000)),
       chunk=st.integers(1, 320))
def test_any_range_size_raises_the_same_rows_by_the_same_money(pool, pot, chunk):
    db, project_id = pool
    whole, bought, expected = _whole(db, project_id, pot)
    found = uplift.candidates(db, project_id=project_id, day=DAY, chunk=chunk)
    assert (found.policies_in_force, found.members_in_force, found.policies_eligible,
            found.too_few_days) == (whole.policies_in_force, whole.members_in_force,
                                    whole.policies_eligible, whole.too_few_days)
    raised = found.basis.buy(pot)
    assert (raised.rate, raised.capped, raised.spent) == (bought.rate, bought.capped,
                                                          bought.spent)
    got = [np.concatenate(c) if c else np.zeros(0, np.int64)
           for c in zip(*found.basis.reached(raised), strict=True)] or [np.zeros(0)] * 4
    for g, e in zip(got, expected, strict=True):
        assert g.tolist() == e.tolist()
    assert raised.policies == len(np.unique(expected[0]))
    assert raised.sum_insured_added == int(bought.sum_insured_added.sum())
    assert sum(m for m, _ in raised.by_code.values()) == bought.spent


def test_ranges_wait_on_disk_and_a_range_holds_only_its_own_policies(pool):
    db, project_id = pool
    found = uplift.candidates(db, project_id=project_id, day=DAY, chunk=50)
    chunks = list(found.basis.chunks())
    assert len(chunks) > 1 and found.basis._dir is not None  # spilled past the first range
    for chunk in chunks:
        assert len(chunk["policy_id"]) <= 50
        assert np.all(np.diff(chunk["policy_id"]) > 0)
