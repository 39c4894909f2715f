"""A premium payment is held to its policy and the policy's project by one key (migration 0020).

One composite foreign key to ``policies (project_id, id)`` replaced a key to the policy and
one to the project, so a bulk enrolment's database checks one key a payment instead of two;
the database must still refuse a payment without its policy, and now also one whose project
is not its policy's. The migration must carry a populated database up and down on both
backends.
"""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from mutua import schema
from mutua.db import make_engine
from mutua.policies.models import PremiumPayment
from tests import factories
from tests.conftest import BACKENDS, scratch_postgres_database


@pytest.fixture
def paid_policies(db):
    factories.accident_project(db, code="PAY-A")
    other = factories.accident_project(db, code="PAY-B")
    policy = factories.policy(db, member=factories.member(db), product_code="PAY-A-1")
    db.add(PremiumPayment(project_id=policy.project_id, policy_id=policy.id, amount=10,
                          paid_on=date(2026, 1, 1)))
    db.flush()
    return policy, other


def test_a_payment_cannot_leave_its_policys_project(db, paid_policies):
    policy, other = paid_policies
    with pytest.raises(IntegrityError):
        db.execute(update(PremiumPayment).where(PremiumPayment.policy_id == policy.id)
                   .values(project_id=other.project_id))
        db.flush()
    db.rollback()


def test_a_payment_needs_its_policy(db, paid_policies):
    policy, _ = paid_policies
    with pytest.raises(IntegrityError):
        db.execute(update(PremiumPayment).where(PremiumPayment.policy_id == policy.id)
                   .values(policy_id=policy.id + 1000))
        db.flush()
    db.rollback()


# --- the migration on a populated database -----------------------------------------------

ROWS_AT_0018 = (
    "INSERT INTO projects (id, code, name_zh, name_en, target_group, status, reserving_method, "
    "a_priori_loss_ratio) VALUES (1, 'P', '意外', 'Accident', 'all', 'active', 'bf', 0.6)",
    "INSERT INTO products (id, project_id, code, name_zh, name_en, line, uniform_premium, "
    "term_days, min_age, max_age, allowed_classes, waiting_days, expense_loading, exclusions, "
    "underwriting, status, reporting_pattern) VALUES (3, 1, 'P-1', '意外', 'Accident', "
    "'accident', 10000, 365, 16, 65, '[1]', 0, 0.1, '[]', '{}', 'on_sale', '[]')",
    "INSERT INTO coefficient_tables (id, product_id, version, source) "
    "VALUES (1, 3, 1, 'catalogue')",
    "INSERT INTO sale_periods (id, product_id, project_id, code, sale_start, sale_end, "
    "cover_start, coefficient_table_id) VALUES (5, 3, 1, 'P1', '2026-01-01', '2026-12-31', "
    "'2026-01-01', 1)",
    "INSERT INTO members (id, member_number, name, id_number, birth_date, sex, phone, "
    "occupation_code, occupation_class, city, status, joined_at) VALUES (7, 'M7', '甲', "
    "'440305199005170027', '1990-05-17', 'F', '+8613900000000', 'A0103', 1, '深圳', "
    "'active', '2026-01-01 00:00:00')",
    "INSERT INTO policies (id, policy_number, project_id, product_id, period_id, member_id, "
    "status, enrolled_on, cover_start, cover_end, premium, age_at_start, occupation_class, "
    "coefficient, refund, created_at, auto_renew) VALUES (11, 'N11', 1, 3, 5, 7, "
    "'in_force', '2026-01-01', '2026-01-02', '2027-01-01', 10000, 35, 1, 1, 0, "
    "'2026-01-01 00:00:00', FALSE)",
    "INSERT INTO premium_payments (id, project_id, policy_id, amount, paid_on, kind, "
    "reference) VALUES (13, 1, 11, 10000, '2026-01-01', 'premium', 'r')",
)


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path):
    """An empty database of each backend, for migrations to build (PostgreSQL: one named
    after this worker's test database, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with scratch_postgres_database("0020") as url:
        yield url


def _payments_and_keys(url: str) -> tuple[list, list]:
    engine = make_engine(url)
    with engine.connect() as conn:
        payments = [tuple(r) for r in conn.execute(text(
            "SELECT id, project_id, policy_id, amount FROM premium_payments"))]
        broken = (conn.execute(text("PRAGMA foreign_key_check")).all()
                  if engine.dialect.name == "sqlite" else [])
    engine.dispose()
    return payments, broken


def _refuses(url: str, sql: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    except IntegrityError:
        return True
    finally:
        engine.dispose()
    return False


def test_the_migration_carries_a_populated_database_up_and_down(empty_url):
    config = schema.alembic_config(empty_url)
    make_engine(empty_url).dispose()
    command.upgrade(config, "0018")
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        for sql in ROWS_AT_0018:
            conn.execute(text(sql))
        if engine.dialect.name == "postgresql":  # the ids above were given, not drawn
            conn.execute(text("SELECT setval('projects_id_seq', 2)"))
    engine.dispose()

    schema.upgrade(empty_url)
    assert _payments_and_keys(empty_url) == ([(13, 1, 11, 10000)], [])
    assert schema.pending_changes(empty_url) == []
    assert _refuses(empty_url, "UPDATE premium_payments SET project_id = 2"), \
        "a payment may not leave its policy's project"
    assert _refuses(empty_url, "UPDATE premium_payments SET policy_id = 12")

    command.downgrade(config, "0018")
    assert _payments_and_keys(empty_url) == ([(13, 1, 11, 10000)], [])
    assert _refuses(empty_url, "UPDATE premium_payments SET project_id = 2"), \
        "the key to the project is back"
    assert _refuses(empty_url, "UPDATE premium_payments SET policy_id = 12")
