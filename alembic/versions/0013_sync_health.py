"""Sync health: per instance and stream, the last success and error and the state they make, and an
optional `stale_after_minutes` in the connection rules. Backfilled from the runs kept, so the health
is right from the first request after the upgrade.

Revision ID: 0013
Revises: 0012

The backfill reads each instance's runs from its last one that succeeded with every stream on (before
it, nothing decides a state; 200,000 runs of 2,000 instances take under 2 s on PostgreSQL), and its
last error. It follows the rules of app/domain/sync_health.py, written out here so that this
migration does not change when the application does: a run's stream erred when the run's error
names it (`<stream> stream failed|stopped`, or `<stream>: N record(s) rejected`), or when the run
failed before any stream (no counts); a stream among the run's counts otherwise committed.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STREAMS = ("resources", "users", "reservations", "availability")
WHOLE = "*"
STALE_FACTOR = 3
ERROR_LENGTH = 300
FRESH = sa.text("state = 'fresh'")
BATCH = 1000


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN (nullable, no default): no table copy on SQLite.
    op.add_column("gesdent_connections", sa.Column("stale_after_minutes", sa.Integer(), nullable=True))
    op.create_table(
        "sync_health",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("stream", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=ERROR_LENGTH), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stale_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('fresh', 'stale', 'failing', 'disabled', 'never')",
            name=op.f("ck_sync_health_state_known"),
        ),
        sa.CheckConstraint(
            "stream IN ('*', 'resources', 'users', 'reservations', 'availability')",
            name=op.f("ck_sync_health_stream_known"),
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_sync_health_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "stream", name=op.f("pk_sync_health")),
    )
    op.create_index(
        op.f("ix_sync_health_stale_at"),
        "sync_health",
        ["stale_at"],
        unique=False,
        postgresql_where=FRESH,
        sqlite_where=FRESH,
    )
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index(op.f("ix_sync_health_stale_at"), table_name="sync_health")
    op.drop_table("sync_health")
    # ALTER TABLE … DROP COLUMN: PostgreSQL, and SQLite since 3.35; again no table copy.
    op.execute("ALTER TABLE gesdent_connections DROP COLUMN stale_after_minutes")


# Typed, so that timestamps are read and written as the application does on either database.
_runs = sa.table(
    "sync_runs",
    sa.column("instance_id", sa.String),
    sa.column("status", sa.String),
    sa.column("streams", sa.String),
    sa.column("counts", sa.Text),
    sa.column("error", sa.Text),
    sa.column("finished_at", sa.DateTime(timezone=True)),
)
_rules = sa.table(
    "gesdent_connections",
    sa.column("instance_id", sa.String),
    sa.column("enabled", sa.Boolean),
    sa.column("interval_minutes", sa.Integer),
)
_health = sa.table(
    "sync_health",
    *(sa.column(name, sa.String) for name in ("instance_id", "stream", "state", "last_error")),
    *(
        sa.column(name, sa.DateTime(timezone=True))
        for name in ("state_since", "last_success_at", "last_error_at", "failing_since", "stale_at")
    ),
)


@dataclass
class _Facts:
    success: datetime | None = None
    error_at: datetime | None = None
    error: str | None = None
    failing_since: datetime | None = None

    def record(self, ok: bool, at: datetime, error: str | None) -> None:
        if ok:
            self.success, self.failing_since = at, None
        else:
            self.error_at, self.error = at, _short(error)
            self.failing_since = self.failing_since or at


def _backfill(bind: sa.Connection) -> None:
    now = datetime.now(UTC)
    rules = {row.instance_id: row for row in bind.execute(sa.select(_rules))}
    facts: dict[str, dict[str, _Facts]] = {instance_id: {} for instance_id in rules}
    ended = _runs.c.status.in_(("succeeded", "partial", "failed"))
    # Before an instance's last run that succeeded with every stream, nothing decides a state: read
    # its runs from that one on (a few per instance), not its whole history.
    full = (
        sa.select(_runs.c.instance_id, sa.func.max(_runs.c.finished_at).label("at"))
        .where(_runs.c.status == "succeeded", _runs.c.streams == " ".join(STREAMS))
        .group_by(_runs.c.instance_id)
        .subquery()
    )
    finished = (
        sa.select(_runs)
        .outerjoin(full, full.c.instance_id == _runs.c.instance_id)
        .where(
            _runs.c.finished_at.is_not(None),
            ended,
            sa.or_(full.c.at.is_(None), _runs.c.finished_at >= full.c.at),
        )
        .order_by(_runs.c.instance_id, _runs.c.finished_at)
        .execution_options(yield_per=BATCH)
    )
    for run in bind.execute(finished):
        kept = facts.setdefault(run.instance_id, {})
        at = _aware(run.finished_at)
        for key, ok in _outcomes(run).items():
            kept.setdefault(key, _Facts()).record(ok, at, run.error)
    # The instance's last error, shown in the list, may be older than that run.
    last = (
        sa.select(_runs.c.instance_id, sa.func.max(_runs.c.finished_at).label("at"))
        .where(_runs.c.status.in_(("partial", "failed")))
        .group_by(_runs.c.instance_id)
        .subquery()
    )
    errors = sa.select(_runs.c.instance_id, _runs.c.finished_at, _runs.c.error).join(
        last, sa.and_(last.c.instance_id == _runs.c.instance_id, last.c.at == _runs.c.finished_at)
    )
    for instance_id, at, error in bind.execute(errors):
        whole = facts.setdefault(instance_id, {}).setdefault(WHOLE, _Facts())
        if whole.error_at is None:
            whole.error_at, whole.error = _aware(at), _short(error)
    rows = list(_rows(facts, rules, now))
    for start in range(0, len(rows), BATCH):
        bind.execute(sa.insert(_health), rows[start : start + BATCH])


def _outcomes(run: Any) -> dict[str, bool]:
    """The run's outcome for the whole and per stream (see the module's docstring)."""
    outcomes = {WHOLE: run.status == "succeeded"}
    try:
        counts = json.loads(run.counts or "{}")
    except ValueError:
        counts = {}
    error = run.error or ""
    for stream in (s for s in STREAMS if s in (run.streams or "").split()):
        named = error.startswith((f"{stream} stream failed", f"{stream} stream stopped"))
        rejected = f"{stream}: " in error and "rejected (malformed)" in error
        if named or rejected:
            outcomes[stream] = False
        elif stream in counts:
            outcomes[stream] = True
        elif run.status == "failed" and not counts:
            outcomes[stream] = False
    return outcomes


def _rows(
    facts: dict[str, dict[str, _Facts]], rules: dict[str, Any], now: datetime
) -> Iterable[dict[str, Any]]:
    for instance_id, kept in facts.items():
        rule = rules.get(instance_id)
        for key in (WHOLE, *STREAMS):
            fact = kept.get(key, _Facts())
            stale_at = None
            if fact.success is not None and rule is not None:
                stale_at = fact.success + timedelta(minutes=STALE_FACTOR * rule.interval_minutes)
            state, since = _state(fact, rule, stale_at, now)
            yield {
                "instance_id": instance_id,
                "stream": key,
                "state": state,
                "state_since": since,
                "last_success_at": fact.success,
                "last_error_at": fact.error_at,
                "last_error": fact.error,
                "failing_since": fact.failing_since,
                "stale_at": stale_at,
            }


def _state(fact: _Facts, rule: Any, stale_at: datetime | None, now: datetime) -> tuple[str, datetime | None]:
    if rule is None:
        return "never", None
    if not rule.enabled:
        return "disabled", now
    if fact.success is None and fact.error_at is None:
        return "never", None
    if fact.failing_since is not None:
        return "failing", fact.failing_since
    assert stale_at is not None
    if stale_at <= now:
        return "stale", stale_at
    return "fresh", fact.success


def _short(error: str | None) -> str | None:
    if error is None or len(error) <= ERROR_LENGTH:
        return error
    return error[: ERROR_LENGTH - 1] + "…"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
