"""Checking a column of ID numbers at once says, for every number, what the rules of GB
11643-1999 say of it alone (the reference below is the rule-by-rule reading)."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from mutua.members.idcard import (
    CHECK,
    PROVINCES,
    WEIGHTS,
    canonical_id_number,
    check_id_numbers,
    make_id_number,
)

TODAY = date(2026, 12, 4)


def reference_problem(number: str) -> str | None:
    n = canonical_id_number(number)
    if len(n) != 18:
        return f"must be 18 characters, got {len(n)}"
    if not (n.isascii() and n[:17].isdigit() and (n[17].isdigit() or n[17] == "X")):
        return "must be 17 digits followed by a digit or X"
    if int(n[:2]) not in PROVINCES:
        return f"area code {n[:6]} is not a Chinese province-level area"
    try:
        birth = date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return f"birth date {n[6:14]} is not a real date"
    if birth.year < 1900 or birth > TODAY:
        return f"birth date {birth.isoformat()} is impossible"
    if n[14:17] == "000":
        return "sequence code 000 is not issued"
    expected = CHECK[sum(int(c) * w for c, w in zip(n[:17], WEIGHTS, strict=True)) % 11]
    if n[17] != expected:
        return f"check character is {n[17]}, expected {expected} (ISO 7064 MOD 11-2)"
    return None


def _near_valid(draw) -> str:
    """A valid number with a few characters changed, so every rule gets broken sometimes."""
    area = draw(st.sampled_from(["110105", "440305", "990101", "510104"]))
    born = draw(st.dates(date(1880, 1, 1), date(2030, 12, 31)))
    n = list(make_id_number(area, born, draw(st.integers(0, 999))))
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, 17))
        n[i] = draw(st.sampled_from("0123456789Xx９ ٣"))
    text = "".join(n)
    return text[:draw(st.integers(0, 18))] if draw(st.booleans()) else text


numbers = st.one_of(st.composite(_near_valid)(), st.text(max_size=20),
                    st.from_regex(r"[0-9]{6}(19|20)[0-9]{2}[01][0-9][0-3][0-9][0-9]{3}[0-9X]",
                                  fullmatch=True))


@settings(max_examples=100, deadline=None)
@given(st.lists(numbers, max_size=30))
def test_a_column_is_judged_as_each_number_alone(column):
    checked = check_id_numbers(column, today=TODAY)
    assert checked.problems == [reference_problem(n) for n in column]
    for n, problem, born, sex in zip(checked.numbers, checked.problems, checked.birth_dates,
                                     checked.sexes, strict=True):
        if problem is None:
            assert born == date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
            assert sex == ("M" if int(n[16]) % 2 else "F")
        else:
            assert born is None and sex is None


def test_the_edges_of_a_possible_birth_date():
    from datetime import timedelta

    column = [make_id_number("440305", born, 123) for born in
              (date(1899, 12, 31), date(1900, 1, 1), TODAY, TODAY + timedelta(days=1))]
    column += ["44030519000229123X", "44030520000229123X", "44030520001301123X"]
    checked = check_id_numbers(column, today=TODAY)
    assert checked.problems == [reference_problem(n) for n in column]
    assert [p is None for p in checked.problems[:4]] == [False, True, True, False]
