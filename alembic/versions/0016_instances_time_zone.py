"""Each instance has a time zone (an IANA name): the clinic's local days are what date filters on its
imported reservations and availability mean. Existing instances get `Europe/Madrid`, the zone every
clinic had implicitly until now.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A NOT NULL column with a constant default: a plain ALTER TABLE on both databases.
    op.add_column(
        "instances",
        sa.Column("time_zone", sa.String(length=64), server_default="Europe/Madrid", nullable=False),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE instances DROP COLUMN time_zone")
