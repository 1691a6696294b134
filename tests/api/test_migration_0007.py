"""Migration 0007: webhook replay records keyed by (instance_id, id), existing rows kept."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.db import migrate
from app.db.engine import create_engine
from tests.conftest import fresh_database

NOW = datetime(2025, 1, 1, tzinfo=UTC)
PARTNER = "00000000-0000-7000-8000-000000000000"
INSTANCES = ("00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b")
DELIVERY = "INSERT INTO webhook_deliveries (id, instance_id, received_at) VALUES (:id, :instance, :at)"


async def _rows(connection):
    result = await connection.execute(text("SELECT instance_id, id FROM webhook_deliveries ORDER BY 1, 2"))
    return [tuple(row) for row in result.all()]


async def test_0007_keeps_deliveries_and_keys_them_by_instance(backend):
    async with fresh_database(backend) as url:
        engine = create_engine(url, null_pool=True)
        try:
            await migrate.upgrade(engine, "0006")
            async with engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO partners (id, name, created_at) VALUES (:id, 'p', :at)"),
                    {"id": PARTNER, "at": NOW},
                )
                for index, instance in enumerate(INSTANCES):
                    await connection.execute(
                        text(
                            "INSERT INTO instances (id, partner_id, name, display_name, comms_enabled, "
                            "comms_sms, comms_voice, comms_email, version, created_at, updated_at) VALUES "
                            "(:id, :partner, :name, 'x', true, true, true, true, 1, :at, :at)"
                        ),
                        {"id": instance, "partner": PARTNER, "name": f"tt_{index}", "at": NOW},
                    )
                await connection.execute(text(DELIVERY), {"id": "msg_1", "instance": INSTANCES[0], "at": NOW})
            await migrate.upgrade(engine, "0007")
            async with engine.begin() as connection:
                assert await _rows(connection) == [(INSTANCES[0], "msg_1")]
                # The same id for another instance is a new delivery; for the same one, a replay.
                await connection.execute(text(DELIVERY), {"id": "msg_1", "instance": INSTANCES[1], "at": NOW})
            with pytest.raises(IntegrityError):
                async with engine.begin() as connection:
                    await connection.execute(
                        text(DELIVERY), {"id": "msg_1", "instance": INSTANCES[0], "at": NOW}
                    )
            # Downgrading makes the bare id unique again, keeping one record of each id.
            async with engine.connect() as connection:
                await connection.run_sync(migrate.command_downgrade, "0006")
                await connection.commit()
            async with engine.begin() as connection:
                assert await _rows(connection) == [(INSTANCES[0], "msg_1")]
        finally:
            await engine.dispose()
