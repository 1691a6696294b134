"""The sync process settings (`PORTICO_SCHEDULER*`, `PORTICO_SYNC_*`, `PORTICO_SHUTDOWN_GRACE_SECONDS`),
a part of `Settings` kept in a module of their own (app/config.py is at its size limit):
the ticker, the workers, their leases, and how they stop (app/sync/scheduler.py applies them)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class SyncSettings(BaseSettings):
    scheduler: bool = Field(True, description="Run the sync ticker and workers in this process.")
    scheduler_tick_seconds: float = Field(30, gt=0, description="How often due runs are enqueued.")
    sync_workers: int = Field(
        4,
        ge=0,
        le=16,
        description="Concurrent sync runs in this process (several, so that one slow GESDENT server "
        "cannot hold them all).",
    )
    sync_lease_seconds: float = Field(
        60, gt=0, description="A run whose worker is silent this long is taken over."
    )
    sync_run_seconds: float = Field(
        900, gt=0, description="A run still importing after this long stops (what committed stays)."
    )
    shutdown_grace_seconds: float = Field(
        20,
        ge=0,
        description="On SIGTERM, how long the runs under way (and a tick or pruning pass) may take to "
        "end; then they stop and their runs go back to the queue, for another worker to resume at once. "
        "Keep it a few seconds below the time your orchestrator waits before SIGKILL (Kubernetes: 30 s).",
    )
