"""The retention settings (`PORTICO_*`), a mixin of app.config.Settings: how long sync runs and
webhook replay records are kept, and how the pruning pass (app/sync/retention.py) deletes them."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from app.domain.webhooks import TOLERANCE_SECONDS

# A delivery's timestamp may be up to the tolerance ahead of its arrival and is accepted until the
# tolerance after it: its id must stay known that long, twice the tolerance, to refuse a replay.
REPLAY_WINDOW_MINUTES = 2 * TOLERANCE_SECONDS // 60


class RetentionSettings(BaseSettings):
    sync_run_retention_days: int = Field(
        30,
        ge=1,
        description="Finished sync runs (and the records they rejected) older than this many days are "
        "pruned, except each instance's latest ones.",
    )
    sync_runs_kept_per_instance: int = Field(
        10,
        ge=1,
        description="The latest finished runs of each instance, kept however old (its last sync stays "
        "known when its schedule stopped).",
    )
    webhook_delivery_retention_minutes: int = Field(
        60,
        ge=REPLAY_WINDOW_MINUTES,
        description=f"Webhook ids are remembered this long, to refuse replays; at least "
        f"{REPLAY_WINDOW_MINUTES} (a delivery's timestamp is accepted within "
        f"{TOLERANCE_SECONDS // 60} minutes either side of now).",
    )
    audit_retention_days: int = Field(
        365, ge=1, description="Audit events older than this many days are pruned."
    )
    prune_batch_size: int = Field(
        1000,
        ge=1,
        le=10_000,
        description="Most rows the pruning pass deletes in one statement and transaction.",
    )
    prune_interval_seconds: float = Field(
        3600, gt=0, description="How often the sync ticker runs the pruning pass."
    )
