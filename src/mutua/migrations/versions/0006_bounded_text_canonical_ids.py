"""Bounded text columns, identity numbers in one canonical form, sign-in limits by account.

- Free-text columns get the length their schema and service allow (db.BoundedText): VARCHAR
  on PostgreSQL, which then refuses longer text too; SQLite keeps TEXT (it stores any length
  under any type name). Text already longer (10 MB strings were stored once) is cut to the
  limit: no legitimate input could have been longer.
- login_attempts counts failures under a rate-limit key (the account, or the client's
  address) instead of the login as typed. Its rows only live for an hour: the table is made
  again, empty.
- members: ID numbers and phones stored with full-width or other scripts' digits (before
  every path folded them) are rewritten in ASCII, so the unique key on id_number holds on
  one form. If two members turn out to be one person, the upgrade stops and names them:
  which record keeps the policies is a person's decision, not a migration's.

Revision ID: 0006
Revises: 0005
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

import mutua.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


# (table, column, length, nullable): the limits in the models (governance/models.py, claims
# and health models), written out as they stand at this revision.
BOUNDED_TEXT = (
    ("governance_proposals", "body_zh", 20_000, False),
    ("governance_proposals", "body_en", 20_000, False),
    ("governance_meetings", "minutes_zh", 20_000, True),
    ("governance_meetings", "minutes_en", 20_000, True),
    ("governance_feedback", "text", 4_000, False),
    ("governance_feedback", "response", 4_000, True),
    ("governance_ratings", "comment", 2_000, False),
    ("claims", "description", 2_000, False),
    ("claims", "appeal_reason", 2_000, True),
    ("claim_decisions", "reason", 2_000, False),
    ("health_alert_notes", "note", 2_000, False),
)


def upgrade() -> None:
    op.drop_table("login_attempts")
    _create_login_attempts("limit_key", 80)
    _canonical_members(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":
        for table, column, length, nullable in BOUNDED_TEXT:
            op.alter_column(table, column, type_=sa.String(length), existing_type=sa.Text(),
                            existing_nullable=nullable,
                            postgresql_using=f"left({column}, {length})")
        # A feedback owner was VARCHAR(64) already; only SQLite stored longer ones.


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column, length, nullable in BOUNDED_TEXT:
            op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length),
                            existing_nullable=nullable)
    op.drop_table("login_attempts")
    _create_login_attempts("username", 64)


def _create_login_attempts(key: str, length: int) -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(key, sa.String(length=length), nullable=False),
        sa.Column("at", mutua.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f(f"ix_login_attempts_{key}"), [key], unique=False)


def _ascii(text: str) -> str:
    """NFKC, then any script's decimal digits as ASCII digits (for finding one person twice)."""
    folded = unicodedata.normalize("NFKC", text).strip().upper()
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in folded)


def _canonical_members(bind) -> None:
    members = sa.table("members", sa.column("id"), sa.column("id_number"), sa.column("phone"))
    changes, numbers = [], {}
    for member_id, id_number, phone in bind.execute(
            sa.select(members.c.id, members.c.id_number, members.c.phone)).yield_per(10_000):
        canonical = _ascii(id_number)
        numbers.setdefault(canonical, []).append(member_id)
        if not (id_number.isascii() and phone.isascii() and canonical == id_number):
            changes.append({"member_id": member_id, "id_number": canonical,
                            "phone": "+" + "".join(c for c in _ascii(phone) if c.isdigit())})
    twins = sorted(ids for ids in numbers.values() if len(ids) > 1)
    if twins:
        raise RuntimeError(
            "members registered twice under one ID number written in different scripts (member "
            f"ids {twins[:20]}): decide which record of each keeps the policies, move the other's "
            "to it and remove the other, then run `mutua init` again")
    if changes:
        bind.execute(members.update().where(members.c.id == sa.bindparam("member_id"))
                     .values(id_number=sa.bindparam("id_number"), phone=sa.bindparam("phone")),
                     changes)
