from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutua.errors import ValidationFailed
from mutua.governance.pricing import CellExperience, experience_arrays, propose, rebalance


@dataclass
class _Fit:
    collective_mean: float
    credibility: np.ndarray
    premiums: np.ndarray


def _full_credibility(ratios, weights):
    """A stand-in model: every cell fully credible (Z = 1), premiums = own weighted mean."""
    own = (ratios * weights).sum(axis=1) / weights.sum(axis=1)
    mean = float((ratios * weights).sum() / weights.sum())
    return _Fit(mean, np.ones(len(own)), own)


def test_rates_are_claims_per_base_sum_insured_year():
    cells = [CellExperience(18, 40, 1, Decimal("2"), (1.0, 3.0), (20.0, 0.0))]
    ratios, weights = experience_arrays(cells)
    assert weights.tolist() == [[2.0, 6.0]] and ratios.tolist() == [[10.0, 0.0]]


def test_riskier_cells_get_smaller_coefficients_and_total_cost_is_unchanged():
    cells = [
        CellExperience(18, 40, 1, Decimal("1.2"), (100.0, 100.0), (120.0, 120.0)),
        CellExperience(18, 40, 5, Decimal("1.0"), (50.0, 50.0), (300.0, 200.0)),
        CellExperience(41, 65, 1, Decimal("1.0"), (80.0, 80.0), (100.0, 60.0)),
    ]
    out = propose(cells, model=_full_credibility)
    assert out[1].proposed < out[0].proposed
    before = sum(float(c.current) * sum(c.exposure) * p.expected_rate
                 for c, p in zip(cells, out, strict=True))
    after = sum(float(p.proposed) * p.exposure * p.expected_rate for p in out)
    assert after == pytest.approx(before, rel=1e-4)
    # every cell now carries the same expected cost per policy
    per_policy = {round(float(p.proposed) * p.expected_rate, 3) for p in out}
    assert len(per_policy) == 1


def test_cells_without_exposure_take_the_collective_mean_with_no_credibility():
    cells = [
        CellExperience(18, 40, 1, Decimal("1"), (10.0,), (10.0,)),
        CellExperience(18, 40, 2, Decimal("1"), (10.0,), (30.0,)),
        CellExperience(18, 40, 6, Decimal("1"), (0.0,), (0.0,)),
    ]
    out = propose(cells, model=_full_credibility)
    assert out[2].credibility == 0 and out[2].observed_rate is None
    assert out[2].expected_rate == pytest.approx(2.0)


def test_no_claims_or_no_exposure_cannot_be_priced():
    cells = [CellExperience(18, 40, c, Decimal("1"), (10.0,), (0.0,)) for c in (1, 2)]
    with pytest.raises(ValidationFailed):
        propose(cells, model=_full_credibility)
    with pytest.raises(ValidationFailed):
        rebalance([CellExperience(18, 40, 1, Decimal("1"), (0.0,), (0.0,))],
                  expected_rates=[1.0], credibility=[0.0])


@given(st.lists(st.tuples(st.floats(0.5, 1000), st.floats(0.5, 3), st.floats(1e-4, 1)),
                min_size=1, max_size=12))
def test_expected_claim_cost_per_premium_is_unchanged(rows):
    cells = [CellExperience(18, 40, i, Decimal(str(round(c, 2))), (e,), (0.0,))
             for i, (e, c, _) in enumerate(rows)]
    rates = [r for _, _, r in rows]
    out = rebalance(cells, expected_rates=rates, credibility=[1.0] * len(rows))
    before = sum(float(c.current) * e * r for c, (e, _, r) in zip(cells, rows, strict=True))
    after = sum(float(p.proposed) * e * r for p, (e, _, r) in zip(out, rows, strict=True))
    # only the 4-decimal rounding of each coefficient may move the total
    slack = sum(0.00005 * e * r for e, _, r in rows)
    assert abs(after - before) <= slack + 1e-9 * before
