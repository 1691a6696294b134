"""Migration 0013: the sync health of existing instances, backfilled from the runs they have."""

import json
from datetime import timedelta

import sqlalchemy as sa

from app.db import migrate
from app.db.engine import create_engine, create_sessionmaker
from app.db.models import utcnow
from app.db.repositories import sync_health
from tests.conftest import fresh_database

PARTNER = "00000000-0000-7000-8000-000000000000"
STREAMS = "resources users reservations availability"
ALL_COUNTS = json.dumps({s: {"fetched": 1} for s in STREAMS.split()})

partners = sa.table(
    "partners", sa.column("id"), sa.column("name"), sa.column("created_at", sa.DateTime(True))
)
instances = sa.table(
    "instances",
    *(sa.column(c) for c in ("id", "partner_id", "name", "display_name", "version")),
    *(sa.column(c, sa.Boolean) for c in ("comms_enabled", "comms_sms", "comms_voice", "comms_email")),
    *(sa.column(c, sa.DateTime(True)) for c in ("created_at", "updated_at")),
)
rules = sa.table(
    "gesdent_connections",
    *(
        sa.column(c)
        for c in (
            "instance_id",
            "resource_ids",
            "users_username",
            "users_password",
            "reservations_username",
            "reservations_password",
            "availability_username",
            "availability_password",
            "webhook_secret",
            "interval_minutes",
            "window_days",
            "version",
        )
    ),
    sa.column("enabled", sa.Boolean),
    *(sa.column(c, sa.DateTime(True)) for c in ("created_at", "updated_at")),
)
runs = sa.table(
    "sync_runs",
    *(
        sa.column(c)
        for c in ("id", "instance_id", "trigger", "status", "streams", "attempts", "counts", "error")
    ),
    sa.column("full_refresh", sa.Boolean),
    *(sa.column(c, sa.DateTime(True)) for c in ("requested_at", "finished_at")),
)


def instance_id(letter: str) -> str:
    return f"00000000-0000-7000-8000-00000000000{letter}"


async def add_instance(connection, now, letter, *, enabled=None):
    await connection.execute(
        sa.insert(instances).values(
            id=instance_id(letter),
            partner_id=PARTNER,
            name=f"tt_{letter}",
            display_name="x",
            version=1,
            comms_enabled=True,
            comms_sms=True,
            comms_voice=True,
            comms_email=True,
            created_at=now,
            updated_at=now,
        )
    )
    if enabled is None:
        return
    secret = {
        f"{f}_{part}": "x"
        for f in ("users", "reservations", "availability")
        for part in ("username", "password")
    }
    await connection.execute(
        sa.insert(rules).values(
            instance_id=instance_id(letter),
            resource_ids="AAAA-BBBB",
            webhook_secret="x",
            interval_minutes=15,
            window_days=14,
            version=1,
            enabled=enabled,
            created_at=now,
            updated_at=now,
            **secret,
        )
    )


async def add_run(connection, letter, number, status, minutes_ago, *, now, counts=ALL_COUNTS, error=None):
    at = now - timedelta(minutes=minutes_ago)
    await connection.execute(
        sa.insert(runs).values(
            id=f"00000000-0000-7000-8000-0000000001{letter}{number}",
            instance_id=instance_id(letter),
            trigger="manual",
            status=status,
            streams=STREAMS,
            attempts=1,
            counts=counts,
            error=error,
            full_refresh=False,
            requested_at=at,
            finished_at=at,
        )
    )


async def test_0013_backfills_health_from_the_runs(backend):
    now = utcnow()
    async with fresh_database(backend) as url:
        engine = create_engine(url, null_pool=True)
        try:
            await migrate.upgrade(engine, "0012")
            async with engine.begin() as connection:
                await connection.execute(sa.insert(partners).values(id=PARTNER, name="p", created_at=now))
                for letter in "abc":
                    await add_instance(connection, now, letter, enabled=True)
                await add_instance(connection, now, "d")  # runs, but no rules (removed since)
                await add_instance(connection, now, "e", enabled=False)
                await add_instance(connection, now, "f", enabled=True)  # rules, never run
                await add_instance(connection, now, "g")  # nothing at all
                await add_run(connection, "a", 1, "failed", 30, counts="{}", error="no rules", now=now)
                await add_run(connection, "a", 2, "succeeded", 5, now=now)
                await add_run(connection, "b", 1, "succeeded", 60, now=now)
                await add_run(connection, "c", 1, "succeeded", 20, now=now)
                stopped = "availability stream failed, its uncommitted changes rolled back: HTTP 503"
                await add_run(connection, "c", 2, "partial", 10, error=stopped, now=now)
                await add_run(connection, "c", 3, "partial", 4, error=stopped, now=now)
                await add_run(connection, "d", 1, "succeeded", 5, now=now)
                await add_run(connection, "e", 1, "succeeded", 5, now=now)
            await migrate.upgrade(engine, "0013")
            async with create_sessionmaker(engine)() as session:
                counts = await sync_health.counts(session, PARTNER, utcnow())
                states = await sync_health.states_of(session, [instance_id(x) for x in "abcdef"], utcnow())
            assert counts == {"fresh": 1, "stale": 1, "failing": 1, "disabled": 1, "never": 3}
            whole = {letter: states[instance_id(letter)]["*"][0] for letter in "abcdef"}
            assert whole == {
                "a": "fresh",
                "b": "stale",
                "c": "failing",
                "d": "never",
                "e": "disabled",
                "f": "never",
            }
            failing = states[instance_id("c")]
            assert failing["*"][1] == now - timedelta(minutes=10)  # since the first error
            assert {stream: state for stream, (state, _) in failing.items() if stream != "*"} == {
                "resources": "fresh",
                "users": "fresh",
                "reservations": "fresh",
                "availability": "failing",
            }
            assert states[instance_id("b")]["*"][1] == now - timedelta(minutes=15)  # 60 - 3 x 15
            async with engine.connect() as connection:
                query = sa.text("SELECT instance_id, last_error FROM sync_health WHERE stream = '*'")
                errors = {row[0]: row[1] for row in await connection.execute(query)}
            assert errors[instance_id("c")] == stopped
            # The last error of `a` is older than its last success: kept all the same, for the list.
            assert errors[instance_id("a")] == "no rules"
            assert errors[instance_id("b")] is None
        finally:
            await engine.dispose()
