"""Business numbers: a transaction that already advanced a counter takes its next numbers
itself instead of waiting on its own lock from another connection."""

from __future__ import annotations

import pytest

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


def test_business_numbers_come_one_at_a_time_without_waiting(engine, db):
    # An enrolment's policy number must not wait for another enrolment's transaction to end:
    # a second session takes numbers while the first, holding its own, is still open.
    from mutua.db import session_factory

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: a second session would wait on the first")
    first = numbering.reserve_now(db, "policy")
    other = session_factory(engine)()
    try:
        second = numbering.reserve_now(other, "policy")
        block = numbering.reserve(other, "policy", 3)
        other.commit()
    finally:
        other.close()
    third = numbering.reserve_now(db, "policy")
    assert [*first, *second, *block, *third] == [1, 2, 3, 4, 5, 6]
    assert "policy" not in numbering._held(db)  # a sequence: the session holds no lock


def test_a_rolled_back_number_is_not_issued_again(engine, db):
    taken = numbering.reserve_now(db, "claim")
    db.rollback()
    again = numbering.reserve_now(db, "claim")
    if engine.dialect.name == "postgresql":
        assert list(again) == [taken[0] + 1]  # a gap, as a sequence leaves
    else:
        assert list(again) == list(taken)  # SQLite: the counter rolled back with the transaction


def test_an_enrolments_policy_number_is_drawn_by_its_first_read(engine, db):
    # PostgreSQL: the enrolment's first read draws the number from the sequence with the
    # member, product and period, without a statement of its own; SQLite: from the counter.
    # Either way P and ten digits, in order.
    from sqlalchemy import event

    from tests import factories as f

    f.accident_project(db, code="NUM-ACC")
    members = [f.member(db, name=f"编号{i}") for i in range(2)]
    sent: list[str] = []

    def note(conn, cursor, statement, *rest) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        first = f.policy(db, member=members[0], product_code="NUM-ACC-1")
    finally:
        event.remove(engine, "before_cursor_execute", note)
    second = f.policy(db, member=members[1], product_code="NUM-ACC-1")
    assert first.policy_number == "P0000000001" and second.policy_number == "P0000000002"
    if engine.dialect.name == "postgresql":
        drawing = [s for s in sent if "nextval" in s]
        assert len(drawing) == 1, drawing
        assert all(f"FROM {table}" in drawing[0] or f"JOIN {table}" in drawing[0]
                   for table in ("products", "sale_periods", "members")), drawing[0]
