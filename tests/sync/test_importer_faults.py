"""The importer under every sandbox fault, on SQLite and PostgreSQL: the right status and a readable
error, the previously committed data and cursors intact, and the next run recovering from them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI

from app.sync.streams import cursor_name
from tests.sync.importing import (
    SLOW,
    FaultAfter,
    create_instance,
    cursors,
    delete_instance,
    rules_for,
    run,
    stored,
)
from tests.sync.sandbox_server import SandboxServer
from tests.sync.test_importer import expected_slots


@pytest.fixture
async def instance(app: FastAPI) -> AsyncIterator[str]:
    instance_id = await create_instance(app)
    yield instance_id
    await delete_instance(app, instance_id)


# mode, fault options, what the error says. Transient faults persist for all 3 attempts.
FAULTS: list[tuple[str, dict[str, Any], str]] = [
    (
        "5xx",
        {"times": 3},
        "failed 3 times (connect errors, timeouts, 429 and 5xx are retried); last: HTTP 503",
    ),
    ("429", {"times": 3, "retry_after": 0}, "last: HTTP 429 (Retry-After: 0)"),
    ("slow", {"times": 3, "delay": SLOW}, "last: ReadTimeout"),
    ("drop", {"times": 3}, "last: RemoteProtocolError"),
    ("malformed", {"times": 1}, "answered malformed JSON"),
    (
        "wrong_credentials",
        {},
        "GESDENT rejected the users credentials (username 'digest-users') on the users",
    ),
]


@pytest.mark.parametrize(("mode", "options", "message"), FAULTS, ids=[fault[0] for fault in FAULTS])
async def test_a_fault_mid_stream_keeps_the_committed_data_and_the_next_run_recovers(
    *, app: FastAPI, sandbox: SandboxServer, instance: str, mode: str, options: dict[str, Any], message: str
) -> None:
    assert (await run(app, instance, sandbox, page_limit=100)).status == "succeeded"
    before, cursors_before = await stored(app, "users", instance), await cursors(app, instance)
    sandbox.control.mutate(patients=150, new_patients=100)  # 250 changes: three pages of 100
    sandbox.control.clear_stats()

    # The fault strikes after the first page of changes was fetched and written (not committed).
    transport = FaultAfter(sandbox, "users", after=1, mode=mode, **options)
    failed = await run(app, instance, sandbox, page_limit=100, transport=transport)

    rejected = mode == "wrong_credentials"
    assert failed.status == ("failed" if rejected else "partial")  # the resources stream committed
    assert failed.failed_stream == "users"
    assert failed.error is not None
    assert failed.error.startswith("users stream failed")
    assert message in failed.error, failed.error
    assert sandbox.credentials["users"].password not in failed.error
    assert failed.counts["users"]["fetched"] == 100
    assert failed.counts["users"]["created"] == failed.counts["users"]["updated"] == 0  # rolled back
    assert "reservations" not in failed.counts  # the run stops at the first failing stream
    stats = sandbox.control.stats()
    assert stats["reservations"]["requests"] == stats["availability"]["requests"] == 0
    # The first page (the run's one challenge went to resources), then the failing attempts: 2 for
    # rejected credentials (the cached answer, a fresh one: no retries).
    assert stats["users"]["requests"] == 1 + (2 if rejected else 3 if mode != "malformed" else 1)
    assert await stored(app, "users", instance) == before
    assert await cursors(app, instance) == cursors_before

    sandbox.control.clear_faults()
    sandbox.control.clear_stats()
    recovered = await run(app, instance, sandbox, page_limit=100)
    assert recovered.status == "succeeded", recovered.error
    users = recovered.counts["users"]
    assert users["created"] == 100
    assert users["updated"] == 150
    # Resumed from the committed cursor: the changes and the few items tied at it, not everything.
    assert users["fetched"] == sandbox.control.stats()["users"]["items"] < 350
    assert len(await stored(app, "users", instance)) == 350


async def test_429_honours_retry_after(app: FastAPI, sandbox: SandboxServer, instance: str) -> None:
    sandbox.control.fault("429", endpoint="users", retry_after=1)
    started = time.perf_counter()
    result = await run(app, instance, sandbox, streams=["users"])
    assert result.status == "succeeded", result.error
    assert time.perf_counter() - started >= 1.0  # not the 10 ms backoff of FAST_RETRY
    assert result.timings["users"] >= 1.0
    assert sandbox.control.stats()["users"]["faults"] == 1


async def test_transient_faults_are_retried_within_the_run(
    app: FastAPI, sandbox: SandboxServer, instance: str
) -> None:
    # Two failed attempts of one request, then a good one (FAST_RETRY makes 3 attempts).
    sandbox.control.fault("5xx", endpoint="reservations")
    sandbox.control.fault("drop", endpoint="reservations")
    sandbox.control.fault("429", endpoint="users", retry_after=0)
    sandbox.control.fault("slow", endpoint="availability", delay=SLOW, times=2)
    sandbox.control.fault("5xx", endpoint="resources", status=502)
    result = await run(app, instance, sandbox)
    assert result.status == "succeeded", result.error
    stats = sandbox.control.stats()
    assert [stats[name]["faults"] for name in ("resources", "users", "reservations", "availability")] == [
        1,
        1,
        2,
        2,
    ]
    assert len(await stored(app, "reservations", instance)) == 1200


async def test_wrong_credentials_fail_the_run_at_once(
    app: FastAPI, sandbox: SandboxServer, instance: str
) -> None:
    sandbox.control.fault("wrong_credentials", endpoint="reservations")
    result = await run(app, instance, sandbox)
    # Failed, though resources and users committed: the configuration needs fixing.
    assert result.status == "failed"
    assert result.failed_stream == "reservations"
    assert "rejected the reservations credentials" in (result.error or "")
    assert sandbox.credentials["reservations"].password not in (result.error or "")
    assert sandbox.control.stats()["reservations"]["requests"] == 2  # the challenge, one answer: no retry
    assert len(await stored(app, "users", instance)) == 250
    sandbox.control.clear_faults()
    assert (await run(app, instance, sandbox)).status == "succeeded"


async def test_a_failed_resource_keeps_the_other_resources_progress(
    app: FastAPI, sandbox: SandboxServer, instance: str
) -> None:
    first, second = sandbox.resource_ids
    transport = FaultAfter(sandbox, "reservations", after=1, mode="malformed")
    result = await run(app, instance, sandbox, transport=transport)  # one page per resource
    assert result.status == "partial"
    assert result.failed_stream == "reservations"
    reservations = await stored(app, "reservations", instance)
    assert {r["resource_id"] for r in reservations.values()} == {first}
    assert set(await cursors(app, instance)) == {"users", cursor_name("reservations", first)}
    sandbox.control.clear_stats()
    assert (await run(app, instance, sandbox)).status == "succeeded"
    per_resource = sandbox.sandbox.dataset.tables.reservations_by_resource
    # The first resource resumed from its cursor; the second was fetched in full.
    assert sandbox.control.stats()["reservations"]["items"] < len(per_resource[first].items) + len(
        per_resource[second].items
    )
    assert len(await stored(app, "reservations", instance)) == 1200


async def test_vanished_slots_are_deleted_only_after_the_whole_window_was_read(
    app: FastAPI, sandbox: SandboxServer, instance: str
) -> None:
    first, second = sandbox.resource_ids
    assert (await run(app, instance, sandbox)).status == "succeeded"
    before = await stored(app, "availability", instance)
    sandbox.control.mutate(availability=True)  # blocked slots move: some vanish, others appear
    expected = expected_slots(sandbox)
    vanished = {key for key in before if key[0] == second} - set(expected)
    assert vanished

    # The second resource's window answer is cut short on every attempt.
    transport = FaultAfter(sandbox, "availability", after=1, mode="drop", times=3)
    result = await run(app, instance, sandbox, transport=transport, streams=["availability"])
    assert result.status == "partial"
    assert result.failed_stream == "availability"
    assert "availability" in (result.error or "")
    assert "RemoteProtocolError" in (result.error or "")
    after = await stored(app, "availability", instance)
    assert {k: v for k, v in after.items() if k[0] == second} == {
        k: v for k, v in before.items() if k[0] == second
    }
    assert {k: v for k, v in after.items() if k[0] == first} == {
        k: v for k, v in expected.items() if k[0] == first
    }
    assert result.counts["availability"]["deleted"] > 0  # the first resource's, committed

    sandbox.control.clear_faults()
    recovered = await run(app, instance, sandbox, streams=["availability"])
    assert recovered.status == "succeeded"
    assert recovered.counts["availability"]["deleted"] == len(vanished)
    assert await stored(app, "availability", instance) == expected


async def test_an_unknown_resource_fails_naming_it(
    app: FastAPI, sandbox: SandboxServer, instance: str
) -> None:
    rules = rules_for(sandbox, resource_ids=[*sandbox.resource_ids, "NOPE1234-0000"])
    result = await run(app, instance, sandbox, rules=rules)
    assert result.status == "failed"
    assert result.failed_stream == "resources"
    assert "GESDENT does not know resource NOPE1234-0000 (404)" in (result.error or "")
    assert await stored(app, "resources", instance) == {}
