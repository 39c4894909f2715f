from datetime import date
from decimal import Decimal

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
