"""The audit log partitioned by month on PostgreSQL (issue 17 item 3).

``audit_events`` becomes a table partitioned by RANGE on ``at``: a partition for each
month that holds rows, the current month and the next three, and a DEFAULT partition, so
a write never fails for want of one. The rows are copied with their ids, the id sequence
is kept, the primary key becomes ``(id, at)`` (PostgreSQL wants the partition column in
it), the indexes keep their names and the append-only trigger is put back. What it is for
and how the months are kept ahead: :mod:`mutua.audit.partitions`.

SQLite has no partitioning: the table stays as it is on both upgrade and downgrade.

Revision ID: 0021
Revises: 0020
"""
from alembic import op

from mutua.audit import partitions
from mutua.dates import today
from mutua.ops import hardening

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# The table's indexes at this revision (0001's), made again on the partitioned table.
INDEXES = [("ix_audit_entity", ["entity", "entity_id"]),
           ("ix_audit_events_action", ["action"]),
           ("ix_audit_events_actor_user_id", ["actor_user_id"]),
           ("ix_audit_events_at", ["at"]),
           ("ix_audit_events_project_id", ["project_id"])]


def upgrade() -> None:
    _keeping_the_guard(lambda bind: partitions.partition(bind, today=today(), indexes=INDEXES))


def downgrade() -> None:
    _keeping_the_guard(lambda bind: partitions.unpartition(bind, indexes=INDEXES))


def _keeping_the_guard(rebuild) -> None:
    """The append-only trigger (0002) is dropped with the old table; the new one gets it."""
    bind = op.get_bind()
    guarded = hardening.is_installed(bind)
    rebuild(bind)
    if guarded:
        hardening.install(bind)
