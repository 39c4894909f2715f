"""Business numbers: a transaction that already advanced a counter takes its next numbers
itself instead of waiting on its own lock from another connection."""

from __future__ import annotations

from mutua import numbering


def test_numbers_after_a_bulk_reservation_in_the_same_transaction(db):
    # A bulk enrolment reserves policy numbers inside the transaction (the counter's row is
    # then locked until it ends); a single enrolment later in the same transaction used to
    # ask another connection, which waited on that lock for ever on PostgreSQL.
    bulk = numbering.reserve(db, "test-policy", 3)
    one = numbering.reserve_now(db, "test-policy")
    assert list(bulk) + list(one) == [1, 2, 3, 4]
    db.commit()
    # a new transaction holds nothing: on PostgreSQL the number comes from its own connection
    assert list(numbering.reserve_now(db, "test-policy")) == [5]
