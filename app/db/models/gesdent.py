"""An instance's GESDENT connection rules."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, timestamp_column, utcnow


class GesdentConnection(SQLModel, table=True):
    """An instance's SYNC connection rules. Passwords and the webhook secret are stored encrypted
    (app/crypto.py) and never leave the service layer in clear."""

    __tablename__ = "gesdent_connections"
    __table_args__ = (
        sa.CheckConstraint("interval_minutes >= 1", name="interval_positive"),
        sa.CheckConstraint("window_days >= 1", name="window_positive"),
        # The ticker's "who is due?" is a range of this index, empty when nothing is due.
        # In (due_minute, instance_id) order: the order a tick takes the due ones in.
        sa.Index(
            "ix_gesdent_connections_due",
            "due_minute",
            "instance_id",
            postgresql_where=sa.text("enabled"),
            sqlite_where=sa.text("enabled = 1"),
        ),
    )

    instance_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    base_url: str | None = Field(default=None, max_length=500)  # null: PORTICO_GESDENT_BASE_URL
    resource_ids: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # space-separated
    users_username: str = Field(max_length=200)
    users_password: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    reservations_username: str = Field(max_length=200)
    reservations_password: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    availability_username: str = Field(max_length=200)
    availability_password: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    webhook_secret: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    enabled: bool = True
    interval_minutes: int = 15
    window_days: int = 14
    # Minutes after the last success from which the sync health says `stale`; null: 3 times the interval.
    stale_after_minutes: int | None = None
    # The minute (since the epoch) from which the next scheduled run is due, kept by the ticker
    # (app/sync/ticker.py); 0: due at the next tick, as after any change of the rules.
    due_minute: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    # Where the instance's slots start within its interval (app/sync/ticker.py `schedule_phase`):
    # `schedule_phase % interval_minutes` minutes past each multiple of the interval.
    schedule_phase: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
