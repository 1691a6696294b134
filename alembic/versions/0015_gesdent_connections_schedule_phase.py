"""Each instance's place in the schedule (`schedule_phase`), so that a fleet's scheduled runs fall
due spread over the interval instead of all on its multiples; existing rules get theirs from their
instance's id, as new ones do, and are looked at again by the next tick. The index of due rules
becomes (due_minute, instance_id): the order a tick takes them in, up to its batch.

Revision ID: 0015
Revises: 0014
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def schedule_phase(instance_id: str) -> int:
    # As app/domain/gesdent.py computes it for new rules (kept here: a migration must not change
    # when the application does).
    return int.from_bytes(hashlib.sha256(instance_id.encode()).digest()[:4]) >> 1


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: the table keeps its indexes as they are.
    op.add_column(
        "gesdent_connections", sa.Column("schedule_phase", sa.Integer(), server_default="0", nullable=False)
    )
    connections = sa.table(
        "gesdent_connections",
        sa.column("instance_id", sa.String),
        sa.column("schedule_phase", sa.Integer),
        sa.column("due_minute", sa.Integer),
    )
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.select(connections.c.instance_id).order_by("instance_id"))]
    update = (
        connections.update()
        .where(connections.c.instance_id == sa.bindparam("id"))
        .values(schedule_phase=sa.bindparam("phase"), due_minute=0)
    )
    for start in range(0, len(ids), BATCH):
        bind.execute(update, [{"id": i, "phase": schedule_phase(i)} for i in ids[start : start + BATCH]])
    op.drop_index("ix_gesdent_connections_due_minute", table_name="gesdent_connections")
    op.create_index(
        "ix_gesdent_connections_due",
        "gesdent_connections",
        ["due_minute", "instance_id"],
        postgresql_where=sa.text("enabled"),
        sqlite_where=sa.text("enabled = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_gesdent_connections_due", table_name="gesdent_connections")
    op.create_index(
        "ix_gesdent_connections_due_minute",
        "gesdent_connections",
        ["due_minute"],
        postgresql_where=sa.text("enabled"),
        sqlite_where=sa.text("enabled = 1"),
    )
    with op.batch_alter_table("gesdent_connections", schema=None) as batch_op:
        batch_op.drop_column("schedule_phase")
