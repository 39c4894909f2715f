"""Electors keep a one-way tag of their ballot's secret, so only their own secret changes it.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("governance_electorate") as batch:
        batch.add_column(sa.Column("ballot_tag", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("governance_electorate") as batch:
        batch.drop_column("ballot_tag")
