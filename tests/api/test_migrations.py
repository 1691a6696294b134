"""Alembic is the only source of the schema, on both databases."""

import asyncio
import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app.db import migrate
from app.db.engine import create_engine
from app.db.models import metadata
from tests.conftest import fresh_database
from tests.processes import portico_command


def _diff(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


async def test_migrated_schema_matches_the_models(app):
    async with app.state.engine.connect() as connection:
        assert await connection.run_sync(_diff) == []


async def test_downgrade_to_base_and_upgrade_again(backend):
    async with fresh_database(backend) as url:
        engine = create_engine(url, null_pool=True)
        try:
            await migrate.upgrade(engine)
            await migrate.upgrade(engine)  # a second replica finds the work done
            async with engine.connect() as connection:
                tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert {"partners", "api_keys", "instances", "instance_settings", "memberships"} <= tables
            async with engine.connect() as connection:
                await connection.run_sync(migrate.command_downgrade, "base")
                await connection.commit()
                tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert tables <= {"alembic_version"}
            await migrate.upgrade(engine)
            async with engine.connect() as connection:
                assert await connection.run_sync(_diff) == []
        finally:
            await engine.dispose()


async def test_replicas_starting_at_once_migrate_once(backend):
    """Four processes run `portico migrate` at the same moment; the lock lets one do the work."""
    async with fresh_database(backend) as url:
        env = {**os.environ, "PORTICO_DATABASE_URL": url}
        processes = [
            await asyncio.create_subprocess_exec(
                *portico_command("migrate"),
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            for _ in range(4)
        ]
        outputs = [(await p.communicate())[0].decode() for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0, 0], outputs
        engine = create_engine(url, null_pool=True)
        try:
            async with engine.connect() as connection:
                assert await connection.run_sync(_diff) == []
                version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
            assert len(version) == 1
        finally:
            await engine.dispose()
