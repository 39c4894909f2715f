from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutua.policies.domain import ProductRules, cover_dates, eligibility_problems, refund_on_cancel


def test_cover_starts_the_day_after_enrolment_or_on_the_period_start():
    assert cover_dates(period_cover_start=date(2026, 1, 1), enrolled_on=date(2025, 12, 20),
                       term_days=365) == (date(2026, 1, 1), date(2026, 12, 31))
    assert cover_dates(period_cover_start=date(2026, 1, 1), enrolled_on=date(2026, 2, 28),
                       term_days=365) == (date(2026, 3, 1), date(2027, 2, 28))


RULES = ProductRules("X", 16, 65, (1, 2, 3, 4, 5), date(2026, 1, 1), date(2026, 3, 31))


def test_eligibility_problems_name_the_rule():
    found = eligibility_problems(RULES, birth_date=date(2012, 1, 1), occupation_class=6,
                                 cover_start=date(2026, 4, 2), on=date(2026, 4, 1))
    assert [p.field for p in found] == ["period", "age", "occupation_class"]
    assert eligibility_problems(RULES, birth_date=date(1990, 1, 1), occupation_class=5,
                                cover_start=date(2026, 2, 2), on=date(2026, 2, 1)) == []


def test_age_is_completed_years_at_cover_start():
    # born 2010-02-02: 15 on 2026-02-01, 16 on 2026-02-02
    assert eligibility_problems(RULES, birth_date=date(2010, 2, 2), occupation_class=1,
                                cover_start=date(2026, 2, 1), on=date(2026, 1, 31))
    assert not eligibility_problems(RULES, birth_date=date(2010, 2, 2), occupation_class=1,
                                    cover_start=date(2026, 2, 2), on=date(2026, 2, 1))


def test_cooling_off_full_refund():
    r = refund_on_cancel(premium=Decimal("36.50"), enrolled_on=date(2026, 1, 1),
                         cover_start=date(2026, 1, 2), cover_end=date(2027, 1, 1),
                         cancel_on=date(2026, 1, 15))
    assert r.cooling_off and r.amount == Decimal("36.50") and r.cover_end == date(2026, 1, 1)


def test_pro_rata_refund_after_cooling_off():
    # 365-day cover, 60 days covered: earned 36.50 x 60/365 = 6.00, refund 30.50
    r = refund_on_cancel(premium=Decimal("36.50"), enrolled_on=date(2026, 1, 1),
                         cover_start=date(2026, 1, 2), cover_end=date(2027, 1, 1),
                         cancel_on=date(2026, 3, 2))
    assert (r.amount, r.cover_end, r.cooling_off) == (Decimal("30.50"), date(2026, 3, 2), False)


@given(st.integers(100, 100000), st.integers(16, 400))
def test_refund_never_exceeds_premium(premium_fen, day):
    premium = Decimal(premium_fen) / 100
    from datetime import timedelta

    r = refund_on_cancel(premium=premium, enrolled_on=date(2026, 1, 1),
                         cover_start=date(2026, 1, 2), cover_end=date(2027, 1, 1),
                         cancel_on=date(2026, 1, 1) + timedelta(days=day))
    assert Decimal(0) <= r.amount <= premium


def test_the_terms_deduct_a_fee_and_a_share_of_the_unearned_premium_after_cooling_off():
    # unearned 30.50 (as above); the terms keep 5.00 + 10% of 30.50 = 8.05; refund 22.45
    r = refund_on_cancel(premium=Decimal("36.50"), enrolled_on=date(2026, 1, 1),
                         cover_start=date(2026, 1, 2), cover_end=date(2027, 1, 1),
                         cancel_on=date(2026, 3, 2), fee=Decimal("5"), fee_rate=Decimal("0.1"))
    assert (r.amount, r.deduction) == (Decimal("22.45"), Decimal("8.05"))


def test_no_deduction_in_the_cooling_off_period():
    r = refund_on_cancel(premium=Decimal("36.50"), enrolled_on=date(2026, 1, 1),
                         cover_start=date(2026, 1, 2), cover_end=date(2027, 1, 1),
                         cancel_on=date(2026, 1, 10), fee=Decimal("5"), fee_rate=Decimal("0.1"))
    assert (r.amount, r.deduction) == (Decimal("36.50"), Decimal("0"))


@given(st.integers(100, 100000), st.integers(16, 400), st.integers(0, 10000),
       st.integers(0, 10000))
def test_refund_and_deduction_add_up_to_the_unearned_premium(premium_fen, day, fee_fen, rate_bp):
    from datetime import timedelta

    premium = Decimal(premium_fen) / 100
    fee = min(premium, Decimal(fee_fen) / 100)
    kw = dict(premium=premium, enrolled_on=date(2026, 1, 1), cover_start=date(2026, 1, 2),
              cover_end=date(2027, 1, 1), cancel_on=date(2026, 1, 1) + timedelta(days=day))
    plain = refund_on_cancel(**kw)
    r = refund_on_cancel(**kw, fee=fee, fee_rate=Decimal(rate_bp) / 10000)
    assert r.amount >= 0 and r.deduction >= 0
    assert r.amount + r.deduction == plain.amount  # the fee never takes more than unearned


@pytest.mark.parametrize(("field", "value"), [("cancellation_fee_rate", "-0.1"),
                                              ("cancellation_fee_rate", "1.5"),
                                              ("cancellation_fee", "-1"),
                                              ("cancellation_fee", "36.51")])
def test_a_deduction_out_of_bounds_is_refused_naming_the_field(field, value):
    from mutua.catalog import service as catalog_service
    from mutua.errors import ValidationFailed
    from tests.factories import accident_definition

    defn = accident_definition(sale_start=date(2026, 1, 1), sale_end=date(2026, 1, 31))
    defn["products"][0][field] = value
    with pytest.raises(ValidationFailed) as e:
        catalog_service.check_definition(defn)
    assert any(p.field.endswith(field) for p in e.value.problems)
