"""A policy keeps the health declaration (健康告知) its member made when buying it.

Revision ID: 0016
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("declaration", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("declaration")
