"""A product definition that contradicts itself is refused, naming each problem."""

from datetime import date

import pytest

from mutua.catalog.domain import Cell, check_cells, coefficient_for
from mutua.catalog.service import check_definition, parse_definition
from mutua.errors import ValidationFailed
from tests.factories import accident_definition


def definition(**kw):
    return accident_definition(sale_start=date(2026, 1, 1), sale_end=date(2026, 3, 31), **kw)


def problems(defn) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as err:
        check_definition(defn)
    return [(p.field, p.rule) for p in err.value.problems]


def test_valid_definition_passes():
    assert check_definition(definition()).products[0].code == "TEST-ACC-1"


def test_overlapping_age_bands():
    d = definition()
    d["products"][0]["coefficients"]["bands"][1]["ages"] = [30, 65]
    assert any("overlap" in rule for _, rule in problems(d))


def test_gap_in_age_bands():
    d = definition()
    d["products"][0]["coefficients"]["bands"][1]["ages"] = [45, 65]
    assert any("have no band" in rule for _, rule in problems(d))


def test_missing_class():
    d = definition()
    co = d["products"][0]["coefficients"]
    co["classes"] = [1, 2, 3, 4, 5]
    co["bands"] = [dict(b, row=b["row"][:5]) for b in co["bands"]]
    found = problems(d)
    assert ("products[0].coefficients.classes",
            "missing class [6] that the product allows") in found


def test_negative_limit_and_deductible():
    d = definition()
    d["products"][0]["benefits"][2]["deductible"] = "-100"
    d["products"][0]["benefits"][0]["base_sum_insured"] = "-1"
    fields = [f for f, _ in problems(d)]
    assert "products[0].benefits[2].deductible" in fields
    assert "products[0].benefits[0].base_sum_insured" in fields


def test_floats_refused_for_money():
    d = definition()
    d["products"][0]["uniform_premium"] = 36.5
    assert any("not floats" in rule for _, rule in problems(d))


def test_unknown_benefit_kind_and_dangling_share():
    d = definition()
    d["products"][0]["benefits"][0]["kind"] = "alien_abduction"
    d["products"][0]["benefits"][1]["shares_sum_insured_with"] = "nothing"
    fields = [f for f, _ in problems(d)]
    assert "products[0].benefits[0].kind" in fields
    assert "products[0].benefits[1].shares_sum_insured_with" in fields


def test_period_ending_before_it_starts():
    d = definition()
    d["products"][0]["periods"][0]["sale_end"] = "2025-12-01"
    assert ("products[0].periods[0].sale_end", "must not be before sale_start") in problems(d)


def test_not_yaml():
    with pytest.raises(ValidationFailed, match="YAML"):
        parse_definition("project: [unclosed")
    with pytest.raises(ValidationFailed, match="mapping"):
        parse_definition("- just a list")


def test_cells_must_be_complete():
    cells = [Cell(16, 40, c, 1) for c in (1, 2, 3)] + [Cell(41, 65, c, 1) for c in (1, 2)]
    found = check_cells(cells, min_age=16, max_age=65, classes=[1, 2, 3])
    assert any("miss class [3]" in p.rule for p in found)
    assert coefficient_for(cells, age=41, occupation_class=2) == 1
    assert coefficient_for(cells, age=41, occupation_class=3) is None
