"""Migration 0015: existing rules get the place in the schedule their instance's id gives, as new
ones do, and are looked at again by the next tick."""

from datetime import UTC, datetime

from sqlalchemy import text

from app.db import migrate
from app.db.engine import create_engine
from app.domain.gesdent import schedule_phase
from tests.conftest import fresh_database

NOW = datetime(2025, 1, 1, tzinfo=UTC)
PARTNER = "00000000-0000-7000-8000-000000000000"
INSTANCES = [f"00000000-0000-7000-8000-{n:012x}" for n in range(1, 2503)]  # more than a batch


async def test_0015_gives_existing_rules_their_phase_and_makes_them_due(backend):
    async with fresh_database(backend) as url:
        engine = create_engine(url, null_pool=True)
        try:
            await migrate.upgrade(engine, "0012")
            async with engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO partners (id, name, created_at) VALUES (:id, 'p', :at)"),
                    {"id": PARTNER, "at": NOW},
                )
                await connection.execute(
                    text(
                        "INSERT INTO instances (id, partner_id, name, display_name, comms_enabled, "
                        "comms_sms, comms_voice, comms_email, version, created_at, updated_at) VALUES "
                        "(:id, :partner, :name, 'x', true, true, true, true, 1, :at, :at)"
                    ),
                    [
                        {"id": i, "partner": PARTNER, "name": f"tt_{n}", "at": NOW}
                        for n, i in enumerate(INSTANCES)
                    ],
                )
                await connection.execute(
                    text(
                        "INSERT INTO gesdent_connections (instance_id, resource_ids, users_username, "
                        "users_password, reservations_username, reservations_password, "
                        "availability_username, availability_password, webhook_secret, enabled, "
                        "interval_minutes, window_days, "
                        "due_minute, version, created_at, updated_at) VALUES (:id, 'R', 'u', 'x', 'r', 'x', "
                        "'a', 'x', 'x', true, 15, 14, 29000000, 1, :at, :at)"
                    ),
                    [{"id": i, "at": NOW} for i in INSTANCES],
                )
            await migrate.upgrade(engine, "head")
            async with engine.connect() as connection:
                rows = (
                    await connection.execute(
                        text("SELECT instance_id, schedule_phase, due_minute FROM gesdent_connections")
                    )
                ).all()
            assert {row[0]: row[1] for row in rows} == {i: schedule_phase(i) for i in INSTANCES}
            assert {row[2] for row in rows} == {0}
            assert len({row[1] % 15 for row in rows}) == 15  # spread over every minute of the interval
        finally:
            await engine.dispose()
