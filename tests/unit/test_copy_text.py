"""COPY's text lines are formatted a column at a time (mutua.db._copy_lines); whatever the mix
of values in a column, each line must be exactly what formatting value by value gives."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mutua.db import _copy_lines, _copy_text

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.text(max_size=12),
    st.sampled_from(["a\tb", "back\\slash", "new\nline", "\\N", "cr\r"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2), st.dates(),
    st.datetimes(timezones=st.just(UTC)),
)


@given(st.integers(1, 4).flatmap(
    lambda width: st.lists(st.tuples(*[VALUES] * width), max_size=30)))
def test_a_column_at_a_time_writes_what_a_value_at_a_time_writes(rows):
    expected = ["\t".join(map(_copy_text, row)) + "\t7" for row in rows]
    assert list(_copy_lines(rows, "\t7")) == expected


def test_one_type_per_column_the_bulk_path():
    rows = [(i, f"P{i}", date(2026, 1, 1), Decimal("1.20"), None if i % 2 else i,
             datetime(2026, 1, 1, tzinfo=UTC)) for i in range(3)]
    assert list(_copy_lines(rows, "")) == [
        "0\tP0\t2026-01-01\t1.20\t0\t2026-01-01 00:00:00+00:00",
        "1\tP1\t2026-01-01\t1.20\t\\N\t2026-01-01 00:00:00+00:00",
        "2\tP2\t2026-01-01\t1.20\t2\t2026-01-01 00:00:00+00:00"]
