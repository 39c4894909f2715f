"""The audit log refuses UPDATE and DELETE in the database itself.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

from mutua.ops import hardening

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    hardening.install(op.get_bind())


def downgrade() -> None:
    hardening.uninstall(op.get_bind())
