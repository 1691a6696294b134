"""The minute from which an instance's next scheduled run is due, on an index of enabled rules, so
that a tick with nothing due reads an empty range of it.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # 0 for every existing row: each is looked at by the next tick, which sets it.
    with op.batch_alter_table("gesdent_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_minute", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index(
            batch_op.f("ix_gesdent_connections_due_minute"),
            ["due_minute"],
            unique=False,
            postgresql_where=sa.text("enabled"),
            sqlite_where=sa.text("enabled = 1"),
        )


def downgrade() -> None:
    with op.batch_alter_table("gesdent_connections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gesdent_connections_due_minute"))
        batch_op.drop_column("due_minute")
