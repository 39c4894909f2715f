from decimal import Decimal

import pytest

from mutua.errors import ValidationFailed
from mutua.governance.payloads import (
    check_allocation_shares,
    check_coefficient_cells,
    check_quarter,
)

GRID = [(18, 40, c) for c in (1, 2, 3)] + [(41, 65, c) for c in (1, 2, 3)]


def _cells(skip=None, **over):
    out = []
    for a, b, c in GRID:
        if (a, b, c) == skip:
            continue
        out.append({"age_min": a, "age_max": b, "occupation_class": c,
                    "coefficient": over.get(f"c{c}", "1.25")})
    return out


def test_a_complete_table_is_accepted_and_canonical():
    cells = check_coefficient_cells(_cells(), grid=GRID)
    assert len(cells) == 6 and cells[0]["coefficient"] == Decimal("1.2500")


def test_a_table_with_a_missing_cell_is_invalid():
    with pytest.raises(ValidationFailed) as err:
        check_coefficient_cells(_cells(skip=(41, 65, 3)), grid=GRID)
    assert err.value.problems[0].field == "payload.cells"
    assert "missing cell for ages 41-65, class 3" in err.value.problems[0].rule


def test_duplicate_extra_and_non_positive_cells_are_invalid():
    dup = _cells() + [_cells()[0]]
    with pytest.raises(ValidationFailed, match="twice"):
        check_coefficient_cells(dup, grid=GRID)
    extra = _cells() + [{"age_min": 66, "age_max": 70, "occupation_class": 1,
                         "coefficient": "1"}]
    with pytest.raises(ValidationFailed, match="not a cell"):
        check_coefficient_cells(extra, grid=GRID)
    with pytest.raises(ValidationFailed, match="above 0"):
        check_coefficient_cells(_cells(c2="0"), grid=GRID)
    with pytest.raises(ValidationFailed, match="float"):
        check_coefficient_cells(_cells(c2=1.5), grid=GRID)


def test_allocation_shares_must_add_to_100_percent():
    assert check_allocation_shares(uplift="0.7", aid="0.2", services="0.1")[0] == Decimal("0.7")
    with pytest.raises(ValidationFailed) as err:
        check_allocation_shares(uplift="0.7", aid="0.2", services="0.2")
    assert err.value.problems[0].field == "payload.shares"
    with pytest.raises(ValidationFailed) as err:
        check_allocation_shares(uplift="1.2", aid="-0.1", services="-0.1")
    assert {p.field for p in err.value.problems} == {"payload.uplift", "payload.aid",
                                                     "payload.services"}


def test_quarter_format():
    assert check_quarter("2027Q1") == "2027Q1"
    with pytest.raises(ValidationFailed):
        check_quarter("2027-01")
