"""A sync run keeps the W3C traceparent of the request that queued it, which its worker's span links to.

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
    # A nullable column with no default: a plain ALTER TABLE on both databases. Not a batch operation:
    # on SQLite that copies the table, and the copy would lose the claim's expression index (0010),
    # which Alembic cannot reflect there.
    op.add_column("sync_runs", sa.Column("traceparent", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN: PostgreSQL, and SQLite since 3.35; again no table copy.
    op.execute("ALTER TABLE sync_runs DROP COLUMN traceparent")
