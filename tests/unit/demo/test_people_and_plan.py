"""Pure parts of the demo: synthetic people and the enrolment plan (no database)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mutua.dates import Quarter, age_on
from mutua.demo import builder, catalogue
from mutua.demo.cohorts import COHORTS
from mutua.demo.people import PROVINCES, SHENZHEN, Taken, people
from mutua.members.idcard import id_problem, parse_id_number
from mutua.members.phones import normalise_phone

TODAY = date(2026, 11, 25)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), lo=st.integers(0, 80),
       span=st.integers(0, 30), mode=st.none() | st.floats(0, 110))
def test_people_are_valid_unique_and_of_the_asked_ages(seed, n, lo, span, mode):
    hi = lo + span
    crowd = people(np.random.default_rng(seed), n, ages=(lo, hi), on=TODAY,
                   occupations={"E0501": 2, "A0103": 1}, areas=SHENZHEN + PROVINCES,
                   cities=("深圳",), age_mode=mode)
    assert len(crowd) == n and len(set(crowd.id_number)) == n and len(set(crowd.phone)) == n
    for number, birth, sex in zip(crowd.id_number, crowd.birth_date, crowd.sex, strict=True):
        assert id_problem(number, today=TODAY) is None
        parsed = parse_id_number(number)
        assert parsed.birth_date == birth and parsed.sex == sex
        assert lo <= age_on(birth, TODAY) <= hi
    assert all(normalise_phone(p) == p for p in crowd.phone[:50])
    assert set(crowd.occupation_class) <= {1, 5}


def test_taken_numbers_are_never_handed_out_twice():
    taken = Taken()
    rng = np.random.default_rng(1)
    kw = dict(ages=(30, 30), on=TODAY, occupations={"A0103": 1}, areas=("440305",),
              cities=("深圳",), taken=taken)
    a, b = people(rng, 400, **kw), people(rng, 400, **kw)  # one county, one birth year
    assert not set(a.id_number) & set(b.id_number) and not set(a.phone) & set(b.phone)


def test_the_same_seed_draws_the_same_plan():
    one = builder.plan_enrolments(np.random.default_rng(4), 3000, TODAY)
    two = builder.plan_enrolments(np.random.default_rng(4), 3000, TODAY)
    assert one.crowd == two.crowd and one.batches == two.batches
    other = builder.plan_enrolments(np.random.default_rng(5), 3000, TODAY)
    assert other.crowd.id_number != one.crowd.id_number


def test_the_plan_enrols_only_eligible_people_inside_sale_windows():
    plan = builder.plan_enrolments(np.random.default_rng(2), 4000, TODAY)
    products = {p.code: p for d in catalogue.definitions(TODAY) for p in d.products}
    seen = set()
    for (code, period_code, day), who in plan.batches.items():
        product = products[code]
        period = next(p for p in product.periods if p.code == period_code)
        assert period.sale_start <= day <= min(period.sale_end, TODAY)
        start = max(period.cover_start, day + timedelta(days=1))
        for i in who:
            assert product.min_age <= age_on(plan.crowd.birth_date[i], start) <= product.max_age
            assert plan.crowd.occupation_class[i] in product.allowed_classes
            assert (i, code, period_code) not in seen
            seen.add((i, code, period_code))
    periods = {p for _, p, _ in plan.batches}
    assert str(Quarter.of(TODAY)) in periods and len(periods) == 5
    assert str(Quarter.of(TODAY).next()) not in periods  # not on sale yet


def test_cohort_shares_and_counts_add_up():
    assert abs(sum(c.share for c in COHORTS) - 1) < 1e-9
    for total in (1, 7, 999, 20_000):
        assert sum(builder._split(total, [c.share for c in COHORTS])) == total


def test_periods_are_four_closed_quarters_the_open_one_and_the_next():
    periods = catalogue.quarterly_periods(TODAY)
    assert [p["code"] for p in periods] == ["2025Q4", "2026Q1", "2026Q2", "2026Q3", "2026Q4",
                                            "2027Q1"]
    closed = [p for p in periods if date.fromisoformat(p["sale_end"]) < TODAY]
    assert len(closed) == 4
    open_now = [p for p in periods
                if date.fromisoformat(p["sale_start"]) <= TODAY <= date.fromisoformat(p["sale_end"])]
    assert [p["code"] for p in open_now] == ["2026Q4"]


def test_the_catalogue_checks_and_names_the_article_kinds():
    defs = catalogue.definitions(TODAY)
    assert len(defs) >= 10
    sz = next(d for d in defs if d.project.code == "SZ-NEWCITIZEN").products[0]
    assert sz.allowed_classes == [1, 2, 3, 4, 5, 6]
    assert "sudden_death" in {b.kind for b in sz.benefits}
    assert [str(x) for x in sz.coefficients.bands[0].row] == ["1", "0.667", "0.5", "0.333",
                                                               "0.2", "0.125"]
