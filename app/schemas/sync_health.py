"""Sync health as the API shows it: per instance and per stream, and the fleet's counts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import Field

from app.domain.gesdent import STREAMS
from app.domain.sync_health import HealthState
from app.schemas.common import Output, Timestamp

STATE_DESCRIPTION = (
    "`fresh` (synced within stale_after_minutes), `stale` (the last success is older), `failing` (the "
    "latest outcome is an error, more recent than the last success), `disabled` (the rules are "
    "disabled) or `never` (no rules, or no run ever ended)."
)
ERROR_EXAMPLE = (
    "availability stream failed, its uncommitted changes rolled back: GET /disponibilidad: HTTP 503 "
    "after 4 attempts"
)


class SyncStreamHealth(Output):
    """One stream's health: from the runs that reached it."""

    state: HealthState = Field(examples=["fresh"], description=STATE_DESCRIPTION)
    since: Timestamp | None = Field(
        examples=["2026-12-01T02:22:08.988478Z"],
        description="When the state began; null for `never`.",
    )


class SyncStreamsHealth(Output):
    """The health of each stream."""

    resources: SyncStreamHealth
    users: SyncStreamHealth
    reservations: SyncStreamHealth
    availability: SyncStreamHealth

    @classmethod
    def build(cls, found: Mapping[str, tuple[HealthState, datetime | None]]) -> SyncStreamsHealth:
        """Each stream's state; a stream with no record yet is `never`."""
        states = {stream: found.get(stream, ("never", None)) for stream in STREAMS}
        return cls(
            **{stream: SyncStreamHealth(state=state, since=at) for stream, (state, at) in states.items()}
        )


class SyncLastError(Output):
    """When the last error happened, and what it was (shortened)."""

    at: Timestamp = Field(examples=["2026-12-01T02:37:08.101010Z"])
    error: str | None = Field(examples=[ERROR_EXAMPLE], description="At most 300 characters.")


class SyncHealthPublic(Output):
    """An instance's sync health: its state, since when, and each stream's."""

    state: HealthState = Field(examples=["failing"], description=STATE_DESCRIPTION)
    since: Timestamp | None = Field(
        examples=["2026-12-01T02:37:08.101010Z"],
        description="When the state began (for `stale`, when the last success went stale); null for `never`.",
    )
    stale_after_minutes: int | None = Field(
        examples=[45],
        description="Minutes after the last success from which the instance is `stale`; null without rules.",
    )
    stale_after_default: bool | None = Field(
        examples=[True],
        description="stale_after_minutes is the default, 3 times the interval; null without rules.",
    )
    streams: SyncStreamsHealth


class SyncHealthItem(SyncHealthPublic):
    """An instance in the sync health list."""

    instance: str = Field(examples=["tt_clinic_north"])
    last_success_at: Timestamp | None = Field(
        examples=["2026-12-01T02:22:08.988478Z"], description="End of the last successful run; null if none."
    )
    last_error: SyncLastError | None = Field(
        description="The last run that failed or was partial; null if none."
    )
    overdue_minutes: int | None = Field(
        examples=[15],
        description="Minutes since the instance went stale, or since it began failing; 0 while fresh; null "
        "when disabled or never synced.",
    )


class SyncHealthCounts(Output):
    """How many instances are in each state."""

    fresh: int = Field(examples=[812])
    stale: int = Field(examples=[3])
    failing: int = Field(examples=[2])
    disabled: int = Field(examples=[40])
    never: int = Field(examples=[12])


class SyncHealthOverview(Output):
    """The partner's instances by sync health: the count in each state (of all its instances, whatever
    the filter), then one page of instances in the states asked for, most overdue first."""

    counts: SyncHealthCounts
    items: list[SyncHealthItem] = Field(description="At most `limit` items.")
    next_cursor: str | None = Field(
        examples=["9hPdMpHItlwvPB_xaFYb_VsidHRfY2xpbmljX25vcnRoIl0"],
        description="Pass as `cursor` to get the next page; null on the last page.",
    )
