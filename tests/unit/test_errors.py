"""A rule raised as a template with values reads, in English, exactly as the f-string it
replaced; what a stored record keeps gives the same problem back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mutua.errors import Conflict, Problem, ValidationFailed, Worded, worded_record

VALUES = st.one_of(st.text(max_size=20), st.integers(), st.dates(),
                   st.decimals(allow_nan=False, allow_infinity=False, places=2))


@given(VALUES, VALUES)
def test_the_english_is_the_template_filled_as_an_f_string_would_fill_it(low, high):
    problem = Problem("x", "must be between %(low)s and %(high)s, 100%% of it", low=low,
                      high=high)
    assert problem.rule == f"must be between {low} and {high}, 100% of it"
    refused = ValidationFailed("x", "must be between %(low)s and %(high)s", low=low, high=high)
    assert refused.message == f"x: must be between {low} and {high}"
    assert refused.to_dict()["problems"] == [{"field": "x", "rule": refused.problems[0].rule}]


@given(VALUES)
def test_a_stored_record_gives_the_same_problem_back(value):
    problem = Problem("items[0].approved", "must not exceed %(ceiling)s for this item",
                      ceiling=value)
    again = Problem.from_record(problem.to_record())
    assert (again.field, again.rule, again.code) == (problem.field, problem.rule, problem.code)
    assert again.params == {"ceiling": format(value, "")}


def test_worded_text_is_its_english_and_keeps_its_template():
    reason = Worded("reserve %(reserve)s below its minimum", reserve=Decimal("12.50"))
    assert reason == "reserve 12.50 below its minimum" and isinstance(reason, str)
    assert worded_record(reason) == {"code": "reserve %(reserve)s below its minimum",
                                     "params": {"reserve": "12.50"}}
    problem = Problem("on", Worded("must not be before the report on %(day)s",
                                   day=date(2026, 1, 2)))
    assert (problem.code, problem.rule) == ("must not be before the report on %(day)s",
                                            "must not be before the report on 2026-01-02")
    assert Conflict(reason).template == "reserve %(reserve)s below its minimum"


def test_a_template_given_no_values_is_its_own_text():
    assert Problem("rate", "must be between 0 and 1 (100%)").rule == \
        "must be between 0 and 1 (100%)"
