"""The hot lookups read on PostgreSQL by asyncpg itself (app/db/driver_reads.py): the row is the one
SQLAlchemy reads, the driver is used only where it may be, and the answers are the same."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.db import driver_reads
from app.db.repositories import instance_facts
from app.db.repositories.instance_facts import InstanceShown
from tests.conftest import add_member, create_instance, create_portal


async def _partner_id(app: FastAPI, name: str) -> str:
    async with app.state.read_sessionmaker() as session:
        query = text("SELECT partner_id FROM instances WHERE name = :name")
        return str((await session.execute(query, {"name": name})).scalar_one())


async def test_the_driver_reads_the_row_sqlalchemy_reads(app, api, backend):
    await create_portal(api, "tt_p")
    await add_member(api, "tt_p", "tt_m")
    assert (await api.patch("/v1/instances/tt_m", json={"member_code": "M-1"})).status_code == 200
    partner = await _partner_id(app, "tt_m")
    async with app.state.read_sessionmaker() as session:
        connection = await session.connection()
        # A read's session on PostgreSQL goes to the driver; SQLite always through SQLAlchemy.
        assert (driver_reads._driver_connection(connection) is not None) == (backend == "postgres")
        fast = await instance_facts.get_with_facts(session, partner, "tt_m")
        portal = await instance_facts.get_with_facts(session, partner, "tt_p")
        missing = await instance_facts.get_with_facts(session, partner, "tt_nobody")
    async with app.state.sessionmaker() as session:  # a write's transaction: SQLAlchemy's way
        connection = await session.connection()
        assert driver_reads._driver_connection(connection) is None
        through_sqlalchemy = await instance_facts.get_with_facts(session, partner, "tt_m")
    assert fast == through_sqlalchemy
    assert missing is None
    assert fast is not None
    assert portal is not None
    assert isinstance(fast.instance, InstanceShown)
    assert isinstance(fast.instance.created_at, datetime)
    assert (fast.instance.name, fast.instance.member_code, fast.instance.version) == ("tt_m", "M-1", 2)
    assert (fast.facts.kind, fast.facts.member_of, fast.facts.communications_enabled) == (
        "member",
        "tt_p",
        True,
    )
    assert (portal.facts.kind, portal.facts.member_count, portal.facts.communications_enabled) == (
        "portal",
        1,
        False,
    )


async def test_another_partners_instance_is_not_read(app, api, other):
    await create_instance(api, "tt_mine")
    await create_instance(other, "tt_theirs")
    partner = await _partner_id(app, "tt_mine")
    async with app.state.read_sessionmaker() as session:
        assert await instance_facts.get_with_facts(session, partner, "tt_theirs") is None


async def test_a_watched_engine_reads_through_sqlalchemy(traced, backend):
    if backend != "postgres":
        pytest.skip("SQLite reads through SQLAlchemy always")
    async with traced.app.state.read_sessionmaker() as session:
        connection = await session.connection()
        assert driver_reads._driver_connection(connection) is None  # the tracer listens at the cursor
