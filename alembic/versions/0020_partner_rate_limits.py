"""A partner's own rate limit (`partners.rate_limit`, e.g. `500/second`), set by the master key; null
means the deployment's PORTICO_RATE_LIMIT. Read with the API key, in the query that already joins
nothing else (app/db/repositories/api_keys.py), so that it costs no round trip.

Revision ID: 0020
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column without a default: a plain ALTER TABLE on both databases.
    op.add_column("partners", sa.Column("rate_limit", sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE partners DROP COLUMN rate_limit")
