"""Quarters: one parser for every path, years the system supports, one canonical name."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutua.dates import FIRST_YEAR, LAST_YEAR, Quarter
from mutua.errors import ValidationFailed

quarters = st.builds(Quarter, st.integers(FIRST_YEAR, LAST_YEAR), st.integers(1, 4))


@given(quarters)
def test_a_quarter_reads_back_from_its_name(q):
    assert Quarter.parse(str(q)) == q
    assert len(str(q)) == 6


@given(quarters)
def test_a_quarter_and_the_next_touch(q):
    assert (q.next().start - q.end).days == 1
    assert q.next().previous() == q


@pytest.mark.parametrize("text", ["0000Q1", "9999Q4", "1999Q4", "2101Q1"])
def test_years_outside_the_supported_ones_are_refused_with_the_field(text):
    with pytest.raises(ValidationFailed) as refused:
        Quarter.parse(text, field="effective_from")
    assert refused.value.problems[0].field == "effective_from"
    assert "from 2000Q1 to 2100Q4" in refused.value.problems[0].rule


@pytest.mark.parametrize("text", ["2026Q5", "2026Q0", "26Q1", "2026-Q1", "2026Q1x", "",
                                  "٢٠٢٦Q1", "2026Q\u0663", "20260Q1"])
def test_shapes_other_than_yyyyqn_are_refused(text):
    with pytest.raises(ValidationFailed, match="must look like 2026Q3"):
        Quarter.parse(text)


@pytest.mark.parametrize("text,name", [("2026q3", "2026Q3"), (" 2026Q3 ", "2026Q3"),
                                       ("２０２６Ｑ３", "2026Q3")])
def test_spellings_of_one_quarter_give_one_name(text, name):
    assert str(Quarter.parse(text)) == name


def test_a_refusal_does_not_echo_a_huge_value():
    with pytest.raises(ValidationFailed) as refused:
        Quarter.parse("9" * 1_000_000)
    assert len(refused.value.message) < 200
