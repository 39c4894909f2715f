"""Resident ID numbers by GB 11643-1999 (check character by ISO 7064 MOD 11-2)."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutua.errors import ValidationFailed
from mutua.members.idcard import (
    check_character,
    id_problem,
    make_id_number,
    mask_id_number,
    parse_id_number,
)
from mutua.members.occupations import occupation, occupations
from mutua.members.phones import normalise_phone


def test_standard_example_is_valid():
    # The worked example printed in GB 11643-1999 itself: 11010519491231002X
    # (Beijing Chaoyang, born 1949-12-31, sequence 002 = female, check X).
    parsed = parse_id_number("11010519491231002X")
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "F"
    assert check_character("11010519491231002") == "X"


def test_second_published_example():
    # 440524188001010014 is the other example commonly quoted with the standard
    # (Guangdong Shantou area, born 1880-01-01, sequence 001 = male, check 4).
    assert check_character("44052418800101001") == "4"


@pytest.mark.parametrize("number, rule", [
    ("11010519491231002Y", "must be 17 digits followed by a digit or X"),
    ("110105194912310021", "check character is 1, expected X"),
    ("11010519490230002X", "birth date 19490230 is not a real date"),
    ("1101051949123100", "must be 18 characters"),
    ("99010519491231002X", "not a Chinese province-level area"),
])
def test_bad_numbers_name_the_rule(number, rule):
    assert rule in id_problem(number)
    with pytest.raises(ValidationFailed) as err:
        parse_id_number(number)
    assert err.value.problems[0].field == "id_number"


def test_future_birth_date_refused():
    n = make_id_number("440305", date(2030, 1, 1), 11)
    assert "impossible" in id_problem(n, today=date(2026, 11, 25))


def test_lower_case_x_accepted_and_masking():
    assert parse_id_number("11010519491231002x").number.endswith("X")
    assert mask_id_number("11010519491231002X") == "1101**********002X"


def test_occupation_table_covers_every_class_and_the_articles_jobs():
    table = occupations()
    assert len(table) >= 60
    assert {o.occupation_class for o in table.values()} == {1, 2, 3, 4, 5, 6}
    names = " ".join(o.name_en.lower() for o in table.values())
    for job in ("courier", "delivery rider", "truck driver", "construction worker", "farmer"):
        assert job in names
    with pytest.raises(ValidationFailed, match="unknown occupation"):
        occupation("ZZ999")


@pytest.mark.parametrize("bad", ["12345", "1380013800", "+86 138 0013 80001", "phone", "010 6552 9988"])
def test_bad_phones_refused(bad):
    with pytest.raises(ValidationFailed) as err:
        normalise_phone(bad)
    assert err.value.problems[0].field == "phone"


# --- one person, one stored form (issue 15 item 4) -------------------------------------------

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@given(st.dates(date(1900, 1, 1), date(2020, 12, 31)), st.integers(1, 999),
       st.sampled_from(["110105", "440305", "510104"]))
def test_full_width_spellings_of_an_id_number_are_the_same_number(birth, seq, area):
    number = make_id_number(area, birth, seq)
    assert parse_id_number(number.translate(FULL_WIDTH)).number == number
    assert parse_id_number(f"\u3000{number.lower()} ").number == number


@given(st.dates(date(1900, 1, 1), date(2020, 12, 31)), st.integers(1, 999))
def test_digits_of_other_scripts_are_refused_not_read(birth, seq):
    number = make_id_number("440305", birth, seq)
    assert id_problem(number.translate(ARABIC_INDIC)) == "must be 17 digits followed by a digit or X"


@pytest.mark.parametrize("typed", ["１３８００１３８０００", "+86 138-0013-8000", "(+86) 138 0013 8000"])
def test_a_phone_is_stored_as_ascii_e164_however_typed(typed):
    assert normalise_phone(typed) == "+8613800138000"


@pytest.mark.parametrize("typed", ["١٣٨٠٠١٣٨٠٠٠", "138\u0660013800O", "१३८००१३८०००"])
def test_a_phone_in_digits_of_another_script_is_refused(typed):
    with pytest.raises(ValidationFailed, match="phone"):
        normalise_phone(typed)
