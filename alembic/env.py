"""Alembic environment: runs on a connection handed over by Portico, or opens its own."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from sqlalchemy import Connection

from alembic import context
from app.config import Settings
from app.db.engine import create_engine
from app.db.models import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # SQLite does run DDL in transactions; saying so makes the whole upgrade one transaction under
        # BEGIN IMMEDIATE, so a second process waits and then finds the work done (no advisory locks).
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    engine = create_engine(Settings().database_url, null_pool=True)
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `portico migrate`")

shared = config.attributes.get("connection")
if shared is not None:
    _run(shared)
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    asyncio.run(_run_standalone())
