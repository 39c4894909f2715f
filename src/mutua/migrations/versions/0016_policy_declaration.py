"""A policy keeps the health declaration (健康告知) its member made when buying it; a
member may pay for dependants (a child, parent or spouse), each a member record of its own
linked to its payer.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("declaration", sa.JSON(), nullable=True))
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("payer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                   nullable=True))
        batch.add_column(sa.Column("relation", sa.String(length=8), nullable=True))
        batch.create_index("ix_members_payer_id", ["payer_id"])
        batch.create_foreign_key("fk_members_payer_id_members", "members", ["payer_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_constraint("fk_members_payer_id_members", type_="foreignkey")
        batch.drop_index("ix_members_payer_id")
        batch.drop_column("relation")
        batch.drop_column("payer_id")
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("declaration")
