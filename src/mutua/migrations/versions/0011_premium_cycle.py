"""The premium cycle: premiums due and group invoices (cover starts when paid within
the product's grace days), the products' grace days, collection files, the payments
they and the providers' callbacks bring, and the callbacks' nonces.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa
import mutua.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('collection_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=200).with_variant(sa.Text(), 'sqlite'), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('posted', sa.Integer(), nullable=False),
    sa.Column('queued', sa.Integer(), nullable=False),
    sa.Column('repeated', sa.Integer(), nullable=False),
    sa.Column('amount', mutua.db.Money(), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', mutua.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_collection_files_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_files')),
    sa.UniqueConstraint('project_id', 'sha256', name=op.f('uq_collection_files_project_id_sha256'))
    )
    op.create_table('payment_callback_nonces',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('received_at', mutua.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_payment_callback_nonces_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_callback_nonces')),
    sa.UniqueConstraint('project_id', 'provider', 'nonce', name=op.f('uq_payment_callback_nonces_project_id_provider_nonce'))
    )
    op.create_table('collected_payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('member_number', sa.String(length=20), nullable=False),
    sa.Column('payer', sa.String(length=100).with_variant(sa.Text(), 'sqlite'), nullable=False),
    sa.Column('amount', mutua.db.Money(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=12), nullable=False),
    sa.Column('matched_reference', sa.String(length=32), nullable=False),
    sa.Column('refund_id', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=500).with_variant(sa.Text(), 'sqlite'), nullable=False),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('resolved_at', mutua.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', mutua.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['collection_files.id'], name=op.f('fk_collected_payments_file_id_collection_files')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_collected_payments_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collected_payments')),
    sa.UniqueConstraint('project_id', 'source', 'transaction_id', name=op.f('uq_collected_payments_project_id_source_transaction_id'))
    )
    with op.batch_alter_table('collected_payments', schema=None) as batch_op:
        batch_op.create_index('ix_collected_payments_file', ['file_id'], unique=False)
        batch_op.create_index('ix_collected_payments_project_state', ['project_id', 'state'], unique=False)

    op.create_table('premium_invoices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('payer', sa.String(length=100).with_variant(sa.Text(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('policies', sa.Integer(), nullable=False),
    sa.Column('amount', mutua.db.Money(), nullable=False),
    sa.Column('paid', mutua.db.Money(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('grace_end', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('created_at', mutua.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['sale_periods.id'], name=op.f('fk_premium_invoices_period_id_sale_periods')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_premium_invoices_product_id_products')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_premium_invoices_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_premium_invoices')),
    sa.UniqueConstraint('project_id', 'reference', name=op.f('uq_premium_invoices_project_id_reference'))
    )
    op.create_table('premium_dues',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('amount', mutua.db.Money(), nullable=False),
    sa.Column('paid', mutua.db.Money(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('grace_end', sa.Date(), nullable=False),
    sa.Column('cover_start', sa.Date(), nullable=False),
    sa.Column('cover_end', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('created_at', mutua.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['premium_invoices.id'], name=op.f('fk_premium_dues_invoice_id_premium_invoices')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_premium_dues_member_id_members')),
    sa.ForeignKeyConstraint(['policy_id'], ['policies.id'], name=op.f('fk_premium_dues_policy_id_policies')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_premium_dues_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_premium_dues')),
    sa.UniqueConstraint('project_id', 'policy_id', name=op.f('uq_premium_dues_project_id_policy_id')),
    sa.UniqueConstraint('project_id', 'reference', name=op.f('uq_premium_dues_project_id_reference'))
    )
    with op.batch_alter_table('premium_dues', schema=None) as batch_op:
        batch_op.create_index('ix_premium_dues_invoice', ['invoice_id'], unique=False)
        batch_op.create_index('ix_premium_dues_member', ['member_id'], unique=False)
        batch_op.create_index('ix_premium_dues_project_state_grace', ['project_id', 'state', 'grace_end'], unique=False)

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grace_days', sa.Integer(), server_default='30', nullable=False))

    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('renewed_from_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index(batch_op.f('ix_policies_renewed_from_id'), ['renewed_from_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_policies_renewed_from_id_policies'), 'policies', ['renewed_from_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_policies_renewed_from_id_policies'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_policies_renewed_from_id'))
        batch_op.drop_column('renewed_from_id')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('grace_days')

    with op.batch_alter_table('premium_dues', schema=None) as batch_op:
        batch_op.drop_index('ix_premium_dues_project_state_grace')
        batch_op.drop_index('ix_premium_dues_member')
        batch_op.drop_index('ix_premium_dues_invoice')

    op.drop_table('premium_dues')
    op.drop_table('premium_invoices')
    with op.batch_alter_table('collected_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_collected_payments_project_state')
        batch_op.drop_index('ix_collected_payments_file')

    op.drop_table('collected_payments')
    op.drop_table('payment_callback_nonces')
    op.drop_table('collection_files')
