"""Alembic upgrade, callable at start-up by several replicas at once."""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path

from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from alembic import command
from app.db.engine import SQLITE_WRITE

# Arbitrary constant naming Portico's migration lock among PostgreSQL advisory locks.
MIGRATION_LOCK_ID = 0x706F7274  # "port"
# Alembic keeps its running context in module globals, so one process migrates one database at a time.
_in_process = asyncio.Lock()


def migrations_directory() -> Path:
    """Alembic's script directory: inside the package when Portico is installed from its wheel
    (app/_migrations, see pyproject.toml), else the checkout's top-level alembic/ beside app/."""
    package = Path(str(resources.files("app")))
    packaged = package / "_migrations"
    return packaged if packaged.is_dir() else package.parent / "alembic"


def alembic_config() -> Config:
    """Alembic's settings, made here: an installed Portico has no alembic.ini (which stays for
    developers who run `alembic` by hand in the checkout)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_directory()))
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
    async with _in_process, engine.connect() as opened:
        connection = await opened.execution_options(**{SQLITE_WRITE: True})
        if postgres:
            await connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        try:
            await connection.run_sync(_upgrade, revision)
            await connection.commit()
        finally:
            if postgres:
                await connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                await connection.commit()
