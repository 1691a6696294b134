"""A sync run keeps the W3C traceparent of the request that queued it, which its worker's span links to.

Numbered 0012 on a branch of its own, after 0008: 0009–0011 are being written beside it, and it is
chained after them when the branches meet.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column with no default: an ALTER TABLE on both databases, no table copy on SQLite.
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("traceparent", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_column("traceparent")
