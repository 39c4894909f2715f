"""A product definition that contradicts itself is refused, naming each problem."""

from datetime import date
from decimal import Decimal
from pathlib import Path

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


# --- a policy's own risk rate and the expected-cost check -------------------------------------

def test_a_policys_risk_rate_is_the_benefits_rate_over_its_coefficient():
    from decimal import Decimal

    from mutua.catalog.domain import cell_expected_cost, risk_rate

    # a class-6 rider (coefficient 0.125) claims about 8 times as much per yuan as class 1
    assert risk_rate(Decimal("0.00008"), Decimal("0.125")) == Decimal("0.00064")
    benefits = [(Decimal("100000"), Decimal("0.00008")), (Decimal("10000"), Decimal("0.0012"))]
    # under a uniform premium every cell expects the same claims: 8 + 12 = 20.00 a year
    assert {cell_expected_cost(benefits, Decimal(c)) for c in ("1", "0.5", "0.2", "0.125")} == {
        Decimal("20.00")}


def test_rates_that_do_not_fit_the_premium_are_refused():
    d = definition()
    for b in d["products"][0]["benefits"]:
        b["pure_risk_rate"] = str(Decimal(str(b["pure_risk_rate"])) * 3)
    found = problems(d)
    assert found == [("products[0].benefits",
                      "expected claims 78.60 over the term for ages 16-40, class 1 are not "
                      "within 50% of premium x expected loss ratio 32.85; check the pure risk "
                      "rates")]


def test_the_expected_loss_ratio_defaults_to_the_projects_a_priori_ratio():
    d = definition()
    del d["products"][0]["expected_loss_ratio"]
    d["project"]["a_priori_loss_ratio"] = "0.30"  # 36.50 x 0.30 = 10.95; 26.20 is 2.4 times it
    assert [f for f, _ in problems(d)] == ["products[0].benefits"]
    d["project"]["a_priori_loss_ratio"] = "0.60"
    assert check_definition(d).products[0].expected_loss_ratio is None


def test_uplift_settings_have_defaults_and_bounds():
    defn = check_definition(definition())
    assert defn.products[0].min_uplift_days == 30
    assert str(defn.products[0].max_uplift_rate) == "0.5"
    d = definition()
    d["products"][0].update(max_uplift_rate="0", expected_loss_ratio="3")
    assert sorted(problems(d)) == [
        ("products[0].expected_loss_ratio", "must be above 0 and at most 2"),
        ("products[0].max_uplift_rate", "must be above 0 and at most 1")]
    d = definition()
    d["products"][0].update(min_uplift_days=-1)  # refused by the schema's bound on days
    assert problems(d) == [("products[0].min_uplift_days",
                            "Input should be greater than or equal to 0")]


@pytest.mark.parametrize("path", sorted(
    str(p) for p in (Path(__file__).parents[3] / "src/mutua/demo/catalog").glob("*.yaml"))
    + [str(Path(__file__).parents[3] / "src/mutua/catalog/products/ckd.yaml")],
    ids=lambda p: Path(p).name)
def test_the_shipped_catalogues_pass_the_cost_check(path):
    assert parse_definition(Path(path).read_text(encoding="utf-8")).project.code


def test_a_product_files_a_reporting_pattern():
    d = definition()
    del d["products"][0]["reporting_pattern"]
    assert ("products[0].reporting_pattern", "Field required") in problems(d)
    d["products"][0]["reporting_pattern"] = ["0.05", "0.15", "0.02"]
    assert problems(d) == [
        ("products[0].reporting_pattern", "must not rise from one quarter to the next"),
        ("products[0].reporting_pattern", "must end at 0 (every claim reported)")]
    d["products"][0]["reporting_pattern"] = ["1.5", "0"]
    assert problems(d)[0][0] == "products[0].reporting_pattern[0]"
    d["products"][0]["reporting_pattern"] = [0.15, "0"]
    assert problems(d)[0][0] == "products[0].reporting_pattern"
    d["products"][0]["reporting_pattern"] = ["0.1"] * 40 + ["0"]
    assert problems(d)[0][0] == "products[0].reporting_pattern"
    d["products"][0]["reporting_pattern"] = ["0.15", "0.04", "0"]
    assert check_definition(d).products[0].reporting_pattern[0] == Decimal("0.15")
