from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from mutua.actuarial import earned
from mutua.actuarial.cli import app
from mutua.dates import Quarter
from mutua.errors import ValidationFailed


def test_issue_example_first_quarter():
    # 45 of 365 days (15-28 Feb, March): 1200 x 45 / 365 = 147.945... -> 147.95
    rows = earned.earned_by_quarter(Decimal("1200"), date(2025, 2, 15), date(2026, 2, 14))
    assert (str(rows[0].quarter), rows[0].earned, rows[0].unearned_at_end) == (
        "2025Q1", Decimal("147.95"), Decimal("1052.05"))
    assert [str(r.quarter) for r in rows] == ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1"]
    assert rows[-1].unearned_at_end == Decimal("0.00")


def test_cli_json():
    out = CliRunner().invoke(app, ["earned", "--premium", "1200", "--start", "2025-02-15",
                                   "--end", "2026-02-14", "--json"])
    assert out.exit_code == 0, out.output
    assert '{"quarter": "2025Q1", "earned": "147.95", "unearned_at_end": "1052.05"}' in out.output


@pytest.mark.parametrize("premium,start,end,field", [
    ("0", date(2025, 1, 1), date(2025, 12, 31), "premium"),
    ("-5", date(2025, 1, 1), date(2025, 12, 31), "premium"),
    ("100", date(2025, 2, 1), date(2025, 1, 31), "end"),
])
def test_bad_cover(premium, start, end, field):
    with pytest.raises(ValidationFailed) as e:
        earned.earned_by_quarter(Decimal(premium), start, end)
    assert e.value.problems[0].field == field


def test_cli_bad_input_is_validation_error():
    out = CliRunner().invoke(app, ["earned", "--premium", "0", "--start", "2025-02-15",
                                   "--end", "2026-02-14"])
    assert isinstance(out.exception, ValidationFailed)


def test_one_day_cover_earns_all_in_its_quarter():
    rows = earned.earned_by_quarter(Decimal("9.99"), date(2025, 6, 30), date(2025, 6, 30))
    assert [(str(r.quarter), r.earned) for r in rows] == [("2025Q2", Decimal("9.99"))]


@given(
    premium_fen=st.integers(min_value=1, max_value=10**9),
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1)),
    days=st.integers(min_value=1, max_value=1200),
)
def test_quarters_add_up_to_the_premium(premium_fen, start, days):
    premium = Decimal(premium_fen) / 100
    rows = earned.earned_by_quarter(premium, start, start + timedelta(days=days - 1))
    assert sum(r.earned for r in rows) == premium
    assert all(r.earned >= 0 for r in rows)
    upr = premium
    for r in rows:
        upr -= r.earned
        assert r.unearned_at_end == upr


@given(
    premium_fen=st.integers(min_value=1, max_value=10**8),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    days=st.integers(min_value=1, max_value=800),
)
def test_vectorised_matches_scalar(premium_fen, start, days):
    end = start + timedelta(days=days - 1)
    for q in earned.quarters_between(start, end):
        v = earned.earned_in_quarter_fen_array(
            np.array([premium_fen]), np.array([start.toordinal()]), np.array([end.toordinal()]), q
        )[0]
        s = earned.earned_between(Decimal(premium_fen) / 100, start, end, q.start, q.end)
        assert Decimal(int(v)) / 100 == s
    assert isinstance(Quarter.of(start), Quarter)
