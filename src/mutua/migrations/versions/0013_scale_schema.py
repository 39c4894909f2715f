"""Schema for scale: drop the policies' member index that the unique (member, product,
period) key repeats (bulk enrolment wrote both for every policy).

Revision ID: 0013
Revises: 0010
"""
from alembic import op

revision = '0013'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_index('ix_policies_member_id')


def downgrade() -> None:
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.create_index('ix_policies_member_id', ['member_id'], unique=False)
