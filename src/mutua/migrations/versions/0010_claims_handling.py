"""Claims handling: documents a benefit requires, requests for documents, assignment and
the decision clock (PRC Insurance Law art. 23: a decision within 30 days).

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
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_to', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('assigned_name', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('decision_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('documents_requested_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('documents_request', mutua.db.BoundedText(2000),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_claims_decision_due_on'), ['decision_due_on'],
                              unique=False)
    # claims already reported: due 30 days after their report, in one statement
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("UPDATE claims SET decision_due_on = date(reported_on, '+30 days')")
    else:
        op.execute("UPDATE claims SET decision_due_on = reported_on + 30")


def downgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claims_decision_due_on'))
        for column in ('documents_request', 'documents_requested_on', 'decision_due_on',
                       'assigned_name', 'assigned_to'):
            batch_op.drop_column(column)
    for table in ('claim_override_requests', 'claim_decisions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('documents_reason')
