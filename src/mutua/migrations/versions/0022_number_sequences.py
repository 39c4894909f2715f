"""Policy, member, claim and complaint numbers from sequences on PostgreSQL (issue 17 item 4).

A number issued one at a time was an autocommit ``UPDATE counters`` on a second pooled
connection: a checkout, its liveness ping and the update, for each enrolment. A sequence
gives it with one ``nextval`` on the enrolment's own connection and locks nothing
(:mod:`mutua.numbering`). Each sequence starts after its counter's value, so no number is
issued twice; the counters' rows stay (a backup still writes them, from the sequences).

The downgrade writes each sequence's position back to its counter and drops the sequences.
SQLite keeps its counters: nothing changes there.

Revision ID: 0022
Revises: 0021
"""
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# As at this revision (mutua.numbering.SEQUENCES): the counter each sequence takes over, and
# the digits of its numbers, where the sequence ends.
DIGITS = {"policy": 10, "member": 9, "claim": 9, "complaint": 9}
NAMES = tuple(DIGITS)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in NAMES:
        op.execute(f"CREATE SEQUENCE IF NOT EXISTS {name}_numbers MAXVALUE {10**DIGITS[name] - 1}")
        op.execute(f"SELECT setval('{name}_numbers', value) FROM counters"
                   f" WHERE name = '{name}' AND value > 0")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in NAMES:
        op.execute(f"INSERT INTO counters (name, value) SELECT '{name}', last_value"
                   f" FROM {name}_numbers WHERE is_called"
                   " ON CONFLICT (name) DO UPDATE SET value = GREATEST(counters.value, EXCLUDED.value)")
        op.execute(f"DROP SEQUENCE IF EXISTS {name}_numbers")
