"""Alembic upgrade, callable at start-up by several replicas at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from alembic import command
from app.db.engine import SQLITE_WRITE

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Arbitrary constant naming Portico's migration lock among PostgreSQL advisory locks.
MIGRATION_LOCK_ID = 0x706F7274  # "port"
# Alembic keeps its running context in module globals, so one process migrates one database at a time.
_in_process = asyncio.Lock()


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def command_downgrade(connection: Connection, revision: str) -> None:
    """Downgrade on a given connection (tests and operators' scripts)."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision`. On PostgreSQL an advisory lock serialises replicas, so the
    first one migrates and the others find the work done."""
    postgres = engine.dialect.name == "postgresql"
    async with _in_process, engine.connect() as connection:
        connection = await connection.execution_options(**{SQLITE_WRITE: True})
        if postgres:
            await connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        try:
            await connection.run_sync(_upgrade, revision)
            await connection.commit()
        finally:
            if postgres:
                await connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                await connection.commit()
