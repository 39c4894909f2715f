"""Claims handling: why money was approved without the documents a benefit requires.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

import mutua.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('claim_decisions', 'claim_override_requests'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('documents_reason', mutua.db.BoundedText(2000),
                                          nullable=False, server_default=''))


def downgrade() -> None:
    for table in ('claim_override_requests', 'claim_decisions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('documents_reason')
