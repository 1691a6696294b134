"""The importer against a GESDENT sandbox that sends one malformed record, on SQLite and PostgreSQL:
the record is skipped and counted, the rest of its stream and the other streams import, the cursor
moves past it, the run ends `partial` naming the record and the field, and neither the error nor
any log line quotes the record's value."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import astuple
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.sync.importer import _describe
from app.sync.streams import StreamFailed
from tests.sync.importing import create_instance, cursors, delete_instance, run, stored
from tests.sync.sandbox_server import SandboxServer
from tests.sync.test_importer import expected_slots

BIRTH_DATE = "13/02/1954"


@pytest.fixture
async def instance(app: FastAPI) -> AsyncIterator[str]:
    instance_id = await create_instance(app)
    yield instance_id
    await delete_instance(app, instance_id)


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)


async def test_a_malformed_patient_is_skipped_counted_and_never_quoted(
    app: FastAPI, sandbox: SandboxServer, instance: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data = sandbox.sandbox.dataset.tables
    newest = data.users.items[-1]  # the last record of the one page: the cursor must still reach it
    sandbox.control.fault("malformed_record", endpoint="users", record=len(data.users.items) - 1)

    result = await run(app, instance, sandbox)

    assert result.status == "partial"
    assert result.failed_stream is None
    assert result.error == (
        f"users: 1 record rejected (malformed): record {newest['id']!r}: field 'birth_date' is not a "
        "date (YYYY-MM-DD)"
    )
    patients = len(data.users.items)
    assert result.counts["users"] == {
        "fetched": patients,
        "created": patients - 1,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "rejected": 1,
    }
    assert all(result.counts[s]["rejected"] == 0 for s in ("resources", "reservations", "availability"))
    assert result.counts["reservations"]["created"] == len(data.reservation_by_id)
    assert [astuple(rejection) for rejection in result.rejections] == [
        ("users", None, patients - 1, newest["id"], "birth_date", "is not a date (YYYY-MM-DD)")
    ]
    users = await stored(app, "users", instance)
    assert len(users) == patients - 1
    assert newest["id"] not in users
    assert (await cursors(app, instance))["users"] == newest["updated_at"]
    assert BIRTH_DATE not in logged(caplog)
    assert f"{newest['id']!r}" in logged(caplog)  # the log line names the record, like the error

    # The next run asks from the cursor: the record tied at it comes again, mended this time.
    again = await run(app, instance, sandbox)
    assert again.status == "succeeded"
    assert again.error is None
    assert again.counts["users"]["created"] == 1
    assert again.counts["users"]["rejected"] == 0


# endpoint, fault options, the stream's rejection (resource ids: None, or an index into the sandbox's).
CASES: list[tuple[str, dict[str, Any], tuple[int | None, int, str | None, str | None, str]]] = [
    ("resources", {"field": "kind", "value": 5}, (None, 0, "rid", "kind", "must be a non-empty string")),
    ("reservations", {"field": "id", "value": None}, (0, 0, None, "id", "must be a non-empty string")),
    ("availability", {"record": 2, "field": "start", "value": "tomorrow"}, (0, 2, None, "start", "")),
]


@pytest.mark.parametrize(("endpoint", "fault", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_every_stream_skips_a_malformed_record_and_imports_the_rest(
    *,
    app: FastAPI,
    sandbox: SandboxServer,
    instance: str,
    endpoint: str,
    fault: dict[str, Any],
    expected: tuple[int | None, int, str | None, str | None, str],
) -> None:
    first = sandbox.resource_ids[0]
    sandbox.control.fault("malformed_record", endpoint=endpoint, **fault)
    result = await run(app, instance, sandbox)

    assert result.status == "partial", result.error
    assert result.failed_stream is None, result.error
    assert [stream for stream, counts in result.counts.items() if counts["rejected"]] == [endpoint]
    assert result.counts[endpoint]["rejected"] == 1
    resource, position, record_id, field, reason = expected
    [rejection] = result.rejections
    assert (rejection.stream, rejection.position, rejection.field) == (endpoint, position, field)
    assert rejection.resource_id == (first if resource is not None else None)
    assert rejection.record_id == (first if record_id == "rid" else record_id)
    assert rejection.reason.startswith(reason)
    assert (result.error or "").startswith(f"{endpoint}: 1 record rejected (malformed): ")
    # The rest of the stream, and every other stream, imported.
    data = sandbox.sandbox.dataset.tables
    total = {
        "resources": len(sandbox.resource_ids),
        "reservations": len(data.reservation_by_id),
        "availability": len(expected_slots(sandbox)),
    }
    for stream, count in total.items():
        imported = len(await stored(app, stream, instance))
        assert imported == count - (1 if stream == endpoint else 0), stream
    assert len(await stored(app, "users", instance)) == len(data.users.items)


@pytest.mark.parametrize(
    "cause",
    [
        sa.exc.IntegrityError(
            "INSERT INTO gesdent_patients …",
            {"birth_date": BIRTH_DATE},
            sqlite3.IntegrityError(f'CHECK constraint failed: birth_date <> "{BIRTH_DATE}"'),
        ),
        ValueError(f"Invalid isoformat string: {BIRTH_DATE!r}"),
    ],
    ids=["database", "unexpected"],
)
def test_a_failure_that_is_not_gesdents_is_described_without_its_message(cause: Exception) -> None:
    """Such a message may quote the value it choked on; the run's error names the kind only (the
    service log has the traceback)."""
    described = _describe(StreamFailed("users", cause, True))
    assert BIRTH_DATE not in described
    assert described.startswith("users stream failed, its uncommitted changes rolled back: ")
    assert type(cause).__name__ in described


async def test_an_item_that_is_not_an_object_is_rejected_by_its_position(
    app: FastAPI, sandbox: SandboxServer, instance: str
) -> None:
    """Not even an object, so no id to name: the record is rejected by its position, the page's
    other records import."""
    patients = len(sandbox.sandbox.dataset.tables.users.items)
    sandbox.control.fault("malformed_record", endpoint="users", record=3, field=None, value=[1, 2])

    result = await run(app, instance, sandbox, streams=["users"])

    assert result.status == "partial", result.error
    assert result.counts["users"]["rejected"] == 1
    assert result.counts["users"]["created"] == patients - 1
    assert [(r.stream, r.position, r.record_id) for r in result.rejections] == [("users", 3, None)]
