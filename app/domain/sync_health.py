"""Sync health: how current an instance's GESDENT data is, as a state, from the last success and
the last error of its runs (as a whole, and per stream).

The rules, in order (the first that holds decides):
1. `never` — the instance has no connection rules: nothing will sync it (whatever ran before).
2. `disabled` — its rules are disabled: scheduled runs are off, so nobody expects fresh data.
3. `never` — no run of it (for a stream: no run that reached the stream) ever ended.
4. `failing` — the latest outcome is an error (a run `failed` or `partial`; for a stream, the stream
   failed or rejected malformed records) more recent than the last success; since the first error
   after that success.
5. `stale` — the last success is older than `stale_after_minutes` (by default 3 times the interval);
   since the moment it went stale.
6. `fresh` — otherwise; since the success that ended the previous state.

A stream that a run did not reach (after the stream that failed, or not asked for) keeps its state."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from app.domain.gesdent import STREAMS

HealthState = Literal["fresh", "stale", "failing", "disabled", "never"]
STATES: tuple[HealthState, ...] = get_args(HealthState)
# The key of the instance's runs as a whole among the per-stream rows of its health.
WHOLE = "*"
KEYS: tuple[str, ...] = (WHOLE, *STREAMS)
STALE_FACTOR = 3  # stale_after_minutes, when the rules leave it unset: this many intervals
ERROR_LENGTH = 300  # the error text kept: enough to say which stream and why, short in a list


def as_state(value: str) -> HealthState:
    """A state read back from the database (its check constraint allows these only)."""
    if value not in STATES:
        raise ValueError(f"not a sync health state: {value!r}")
    return value


def stale_after(interval_minutes: int, chosen: int | None) -> tuple[int, bool]:
    """The threshold in effect, and whether it is the default (3 times the interval)."""
    return (chosen, False) if chosen is not None else (STALE_FACTOR * interval_minutes, True)


@dataclass(frozen=True)
class Schedule:
    """What health reads from the connection rules: whether scheduled runs are on, and the threshold."""

    enabled: bool
    stale_after_minutes: int


@dataclass(frozen=True)
class Facts:
    """The outcomes health is derived from. `failing_since`: the first error after the last success,
    None when the latest outcome is a success (or there was none)."""

    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    failing_since: datetime | None = None

    def after(self, ok: bool, at: datetime) -> Facts:
        """These facts once an outcome (a success when `ok`) was recorded `at`."""
        if ok:
            return replace(self, last_success_at=at, failing_since=None)
        return replace(self, last_error_at=at, failing_since=self.failing_since or at)


@dataclass(frozen=True)
class Derived:
    state: HealthState
    since: datetime | None  # None: from whenever the state was recorded (never, disabled)
    stale_at: datetime | None  # when the last success goes (went) stale; None without one


def derive(facts: Facts, schedule: Schedule | None, now: datetime) -> Derived:
    """The state the rules of this module's docstring give."""
    stale_at = None
    if facts.last_success_at is not None and schedule is not None:
        stale_at = facts.last_success_at + timedelta(minutes=schedule.stale_after_minutes)
    if schedule is None:
        return Derived("never", None, stale_at)
    if not schedule.enabled:
        return Derived("disabled", None, stale_at)
    if facts.last_success_at is None and facts.last_error_at is None:
        return Derived("never", None, stale_at)
    if facts.failing_since is not None:
        return Derived("failing", facts.failing_since, stale_at)
    assert stale_at is not None  # no error, so a success
    if stale_at <= now:
        return Derived("stale", stale_at, stale_at)
    return Derived("fresh", facts.last_success_at, stale_at)


@dataclass(frozen=True)
class Transition:
    """A change of recorded state: the instance's (`stream` None: its runs as a whole) or one stream's.
    `at` is when the new state holds from."""

    instance_id: str
    stream: str | None
    old: HealthState
    new: HealthState
    at: datetime


def stream_outcomes(
    status: str, streams: Collection[str], counts: Mapping[str, Mapping[str, Any]], failed_stream: str | None
) -> dict[str, bool]:
    """Per stream a run reached, whether it ended well (True) or in error (False), from the run's
    outcome: the stream that failed and a stream that rejected records erred; a stream the run
    timed committed; when a failed run reached no stream (no rules, a key missing), all its streams
    erred. A stream the run did not reach is absent."""
    outcomes: dict[str, bool] = {}
    for stream in (s for s in STREAMS if s in streams):
        if stream == failed_stream or counts.get(stream, {}).get("rejected", 0):
            outcomes[stream] = False
        elif stream in counts:
            outcomes[stream] = True
        elif status == "failed" and not counts and failed_stream is None:
            outcomes[stream] = False
    return outcomes


def short_error(error: str | None) -> str | None:
    if error is None or len(error) <= ERROR_LENGTH:
        return error
    return error[: ERROR_LENGTH - 1] + "…"
