"""Member self-service, what was left of issue 19.

- ``phone_codes.phone_seq`` / ``client_seq``: the code's number for its phone and for its
  client address, each unique, so two requests at the sending limit at once cannot both
  store a code (auth.phone_codes).

Revision ID: 0017
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("phone_codes") as batch:
        batch.add_column(sa.Column("phone_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("client_seq", sa.Integer(), nullable=True))
        batch.create_unique_constraint(batch.f("uq_phone_codes_phone_phone_seq"),
                                       ["phone", "phone_seq"])
        batch.create_unique_constraint(batch.f("uq_phone_codes_client_client_seq"),
                                       ["client", "client_seq"])


def downgrade() -> None:
    with op.batch_alter_table("phone_codes") as batch:
        batch.drop_constraint(batch.f("uq_phone_codes_client_client_seq"), type_="unique")
        batch.drop_constraint(batch.f("uq_phone_codes_phone_phone_seq"), type_="unique")
        batch.drop_column("client_seq")
        batch.drop_column("phone_seq")
