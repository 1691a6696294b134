"""The claim's order on an index: when each active run began to wait, so that a claim reads the
head of the queue instead of sorting every queued run (29 ms a claim at 10,000 queued runs). It
replaces the index on (status, lease_expires_at), which only the claim read.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_RUN = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.drop_index("ix_sync_runs_status_lease_expires_at", table_name="sync_runs")
    op.create_index(
        "ix_sync_runs_waiting_since",
        "sync_runs",
        [sa.text("coalesce(lease_expires_at, requested_at)"), "id"],
        unique=False,
        sqlite_where=ACTIVE_RUN,
        postgresql_where=ACTIVE_RUN,
    )


def downgrade() -> None:
    op.drop_index("ix_sync_runs_waiting_since", table_name="sync_runs")
    op.create_index(
        "ix_sync_runs_status_lease_expires_at", "sync_runs", ["status", "lease_expires_at"], unique=False
    )
