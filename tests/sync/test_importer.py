"""The importer against the real sandbox over HTTP, on SQLite and PostgreSQL: a full sync stores
exactly the sandbox's data, an incremental one only what changed, a no-op resync writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.domain.gesdent import STREAMS
from app.sync.streams import cursor_name
from gesdent_sandbox.availability import free_slots
from tests.sync.conftest import TEST_CONFIG
from tests.sync.importing import create_instance, cursors, delete_instance, moment, run, stored
from tests.sync.sandbox_server import SandboxServer


@pytest.fixture
async def instance(app: FastAPI) -> AsyncIterator[str]:
    instance_id = await create_instance(app)
    yield instance_id
    await delete_instance(app, instance_id)


def expected_slots(server: SandboxServer, days: int = 14) -> dict[Any, dict[str, Any]]:
    today = server.sandbox.dataset.today
    result = {}
    for resource_id in server.resource_ids:
        for slot in free_slots(server.sandbox.dataset, resource_id, today, today + timedelta(days=days)):
            start = moment(slot["start"])
            result[(resource_id, start)] = {
                "resource_id": resource_id,
                "starts_at": start,
                "ends_at": moment(slot["end"]),
                "treatment_codes": " ".join(slot["treatment_codes"]),
            }
    return result


def patient_of(item: dict[str, Any]) -> dict[str, Any]:
    fields = ("first_name", "last_name", "phone", "email", "birth_date", "member_code", "deleted")
    return {
        "gesdent_id": item["id"],
        **{name: item[name] for name in fields},
        "remote_updated_at": item["updated_at"],
    }


def reservation_of(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "gesdent_id": item["id"],
        "resource_id": item["resource_id"],
        "user_id": item["user_id"],
        "treatment_code": item["treatment_code"],
        "starts_at": moment(item["start"]),
        "ends_at": moment(item["end"]),
        "status": item["status"],
        "remote_updated_at": item["updated_at"],
    }


def check_mirrors(server: SandboxServer, tables: dict[str, dict[Any, dict[str, Any]]]) -> None:
    """The stored rows equal the sandbox's current data, field for field."""
    data = server.sandbox.dataset
    assert tables["users"] == {pid: patient_of(p) for pid, p in data.tables.user_by_id.items()}
    assert tables["reservations"] == {
        rid: reservation_of(r) for rid, r in data.tables.reservation_by_id.items()
    }
    assert tables["availability"] == expected_slots(server)
    resources = {
        r["id"]: {
            "gesdent_id": r["id"],
            "name": r["name"],
            "kind": r["kind"],
            "active": r["active"],
            "remote_updated_at": r["updated_at"],
        }
        for r in data.resources
    }
    assert tables["resources"] == resources


async def snapshot(app: FastAPI, instance_id: str) -> dict[str, dict[Any, dict[str, Any]]]:
    return {stream: await stored(app, stream, instance_id) for stream in STREAMS}


async def test_full_sync_stores_exactly_the_sandbox_data(
    app: FastAPI, sandbox: SandboxServer, instance: str
) -> None:
    result = await run(app, instance, sandbox, page_limit=100)
    assert result.status == "succeeded", result.error
    assert result.error is None, result.error
    slots = len(expected_slots(sandbox))
    assert slots > 50
    fetched = {"resources": 2, "users": TEST_CONFIG.patients, "reservations": TEST_CONFIG.reservations}
    for stream, count in {**fetched, "availability": slots}.items():
        assert result.counts[stream] == {
            "fetched": count,
            "created": count,
            "updated": 0,
            "deleted": 0,
            "unchanged": 0,
            "rejected": 0,
        }, stream
    assert set(result.timings) == set(STREAMS)
    tables = await snapshot(app, instance)
    check_mirrors(sandbox, tables)
    assert any(p["deleted"] for p in tables["users"].values())  # deleted patients are kept, flagged
    # One cursor per incremental stream (per resource for reservations): the newest updated_at seen.
    data = sandbox.sandbox.dataset.tables
    expected = {"users": data.users.items[-1]["updated_at"]}
    for resource_id, per_resource in data.reservations_by_resource.items():
        expected[cursor_name("reservations", resource_id)] = per_resource.items[-1]["updated_at"]
    assert await cursors(app, instance) == expected
    # Digest: one challenge for the run (its first request), answered by every credential, then one
    # round trip per request.
    stats = sandbox.control.stats()
    assert stats["resources"]["challenges"] == 1
    assert stats["users"]["challenges"] == 0
    assert stats["users"]["ok"] == 3  # 250 patients, pages of 100
    assert stats["reservations"]["challenges"] == 0
    assert stats["availability"]["challenges"] == 0
    assert stats["total"]["requests"] == stats["total"]["ok"] + 1


async def row_versions(app: FastAPI, backend: str, instance_id: str) -> dict[str, list[Any]]:
    """PostgreSQL: each row's xmin (changes whenever a row is rewritten). SQLite: see write_counter."""
    if backend != "postgres":
        async with app.state.sessionmaker() as session:
            return {"writes": [await session.scalar(sa.text("SELECT n FROM sync_test_writes"))]}
    versions = {}
    async with app.state.sessionmaker() as session:
        for name in (
            "gesdent_resources",
            "gesdent_patients",
            "gesdent_reservations",
            "gesdent_slots",
            "sync_cursors",
        ):
            query = f"SELECT xmin::text FROM {name} WHERE instance_id = :id ORDER BY xmin::text"
            versions[name] = list((await session.execute(sa.text(query), {"id": instance_id})).scalars())
    return versions


@pytest.fixture
async def write_counter(app: FastAPI, backend: str) -> AsyncIterator[None]:
    """On SQLite, count every INSERT, UPDATE and DELETE on the sync tables with triggers."""
    if backend != "sqlite":
        yield
        return
    tables = (
        "gesdent_resources",
        "gesdent_patients",
        "gesdent_reservations",
        "gesdent_slots",
        "sync_cursors",
    )
    async with app.state.engine.begin() as connection:
        await connection.execute(sa.text("CREATE TABLE sync_test_writes (n INTEGER NOT NULL)"))
        await connection.execute(sa.text("INSERT INTO sync_test_writes VALUES (0)"))
        for table in tables:
            for event in ("INSERT", "UPDATE", "DELETE"):
                await connection.execute(
                    sa.text(
                        f"CREATE TRIGGER sync_test_{table}_{event.lower()} AFTER {event} ON {table} "
                        "BEGIN UPDATE sync_test_writes SET n = n + 1; END"
                    )
                )
    yield
    async with app.state.engine.begin() as connection:
        for table in tables:
            for event in ("insert", "update", "delete"):
                await connection.execute(sa.text(f"DROP TRIGGER sync_test_{table}_{event}"))
        await connection.execute(sa.text("DROP TABLE sync_test_writes"))


async def test_noop_resync_rewrites_nothing(
    app: FastAPI, backend: str, sandbox: SandboxServer, instance: str, write_counter: None
) -> None:
    assert (await run(app, instance, sandbox)).status == "succeeded"
    before, versions = await snapshot(app, instance), await row_versions(app, backend, instance)
    sandbox.control.clear_stats()
    result = await run(app, instance, sandbox)
    assert result.status == "succeeded", result.error
    assert await row_versions(app, backend, instance) == versions  # not one row rewritten
    assert await snapshot(app, instance) == before
    for stream in STREAMS:
        counts = result.counts[stream]
        assert counts["created"] == counts["updated"] == counts["deleted"] == 0, (stream, counts)
        assert counts["unchanged"] == counts["fetched"], (stream, counts)
    # Incremental streams re-fetch only the items tied at the cursor (updated_since is inclusive).
    stats = sandbox.control.stats()
    assert 0 < result.counts["users"]["fetched"] == stats["users"]["items"] < TEST_CONFIG.patients
    assert 0 < result.counts["reservations"]["fetched"] == stats["reservations"]["items"] < 1200


async def test_incremental_sync_writes_only_what_changed(
    app: FastAPI, sandbox: SandboxServer, instance: str
) -> None:
    assert (await run(app, instance, sandbox)).status == "succeeded"
    ties = await run(app, instance, sandbox)  # what a run with no change fetches
    change = sandbox.control.mutate(
        patients=7, new_patients=3, reservations=12, new_reservations=4, availability=True
    )
    sandbox.control.clear_stats()
    result = await run(app, instance, sandbox)
    assert result.status == "succeeded", result.error
    stats = sandbox.control.stats()
    users, reservations = result.counts["users"], result.counts["reservations"]
    assert users["created"] == 3
    assert users["updated"] == 7
    assert users["deleted"] == 0
    assert users["fetched"] == stats["users"]["items"] == 10 + ties.counts["users"]["fetched"]
    assert users["unchanged"] == users["fetched"] - 10
    assert reservations["created"] == 4
    assert reservations["updated"] == 12
    assert (
        reservations["fetched"]
        == stats["reservations"]["items"]
        == 16 + ties.counts["reservations"]["fetched"]
    )
    availability = result.counts["availability"]
    assert availability["created"] > 0
    assert availability["deleted"] > 0
    assert availability["updated"] == 0
    assert availability["fetched"] == availability["created"] + availability["unchanged"]
    tables = await snapshot(app, instance)
    check_mirrors(sandbox, tables)
    for pid in change["patients_deleted"]:
        assert tables["users"][pid]["deleted"] is True


async def test_full_refresh_ignores_cursors(app: FastAPI, sandbox: SandboxServer, instance: str) -> None:
    assert (await run(app, instance, sandbox)).status == "succeeded"
    sandbox.control.clear_stats()
    result = await run(app, instance, sandbox, full_refresh=True, streams=["users"])
    assert set(result.counts) == {"users"}
    assert result.counts["users"]["fetched"] == result.counts["users"]["unchanged"] == TEST_CONFIG.patients
    assert sandbox.control.stats()["reservations"]["requests"] == 0
