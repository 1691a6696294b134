"""A run that met a malformed record, through the API, on SQLite and PostgreSQL: a worker imports from
a sandbox that sends one patient with the birth date `13/02/1954`. The run is `partial`, counts the
record as rejected and names it and its field, but no answer nor log line quotes the birth date; the
rejected records' ids and reasons are for keys with `patients:read`, and for the run's partner only."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI

from tests.conftest import ALL_SCOPES, KeyFactory, PartnerClient, assert_problem, create_instance
from tests.sync.sandbox_server import SandboxServer
from tests.sync.test_end_to_end import rules_for, sync_now

BIRTH_DATE = "13/02/1954"


async def test_a_malformed_record_is_rejected_and_only_patients_read_sees_which(
    *,
    app: FastAPI,
    api: PartnerClient,
    other: PartnerClient,
    make_client: KeyFactory,
    sandbox: SandboxServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await create_instance(api, "tt_rejecting")
    assert (await api.put("/v1/instances/tt_rejecting/gesdent", json=rules_for(sandbox))).status_code == 201
    patients = sandbox.sandbox.dataset.tables.users.items
    broken = patients[7]
    sandbox.control.fault("malformed_record", endpoint="users", record=7, value=BIRTH_DATE)

    run = await sync_now(app, api, "tt_rejecting")

    assert run["status"] == "partial", run
    assert run["counts"]["users"]["rejected"] == 1
    assert run["counts"]["users"]["created"] == len(patients) - 1
    assert run["counts"]["reservations"]["rejected"] == 0
    assert run["counts"]["reservations"]["created"] > 0
    assert run["error"] == (
        f"users: 1 record rejected (malformed): record {broken['id']!r}: field 'birth_date' is not a "
        f"date (YYYY-MM-DD); see GET /v1/sync-runs/{run['id']}/rejections"
    )
    imported = (await api.get("/v1/instances/tt_rejecting/patients", params={"limit": 500})).json()
    assert len(imported["items"]) == len(patients) - 1

    path = f"/v1/sync-runs/{run['id']}/rejections"
    rejections = await api.get(path)
    assert rejections.status_code == 200, rejections.text
    assert rejections.json() == {
        "items": [
            {
                "stream": "users",
                "resource_id": None,
                "position": 7,
                "record_id": broken["id"],
                "field": "birth_date",
                "reason": "is not a date (YYYY-MM-DD)",
            }
        ],
        "next_cursor": None,
    }

    # sync:read shows the run and its counts, not which records were rejected.
    no_patients = await make_client(
        [s for s in ALL_SCOPES if s != "patients:read"],
        partner_id=api.partner_id,
    )
    assert (await no_patients.get(f"/v1/sync-runs/{run['id']}")).json()["counts"]["users"]["rejected"] == 1
    body = assert_problem(await no_patients.get(path), 403, "missing-scope")
    assert body["required_scope"] == "patients:read"
    assert_problem(await other.get(path), 404, "not-found")

    answers = [str(run), rejections.text, (await api.get("/v1/instances/tt_rejecting/sync-status")).text]
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert all(BIRTH_DATE not in answer for answer in answers)
    assert BIRTH_DATE not in logged


async def test_rejections_are_bounded_per_stream_and_paginated(
    app: FastAPI, api: PartnerClient, sandbox: SandboxServer
) -> None:
    await create_instance(api, "tt_rejecting_many")
    rules = rules_for(sandbox)
    assert (await api.put("/v1/instances/tt_rejecting_many/gesdent", json=rules)).status_code == 201
    # 120 patients without an id (the first of the page), one reservation without its start.
    sandbox.control.fault("malformed_record", endpoint="users", count=120, field="id", value=None)
    sandbox.control.fault("malformed_record", endpoint="reservations", record=5, field="start", value=None)
    reservation = sandbox.sandbox.dataset.tables.reservations_by_resource[sandbox.resource_ids[0]].items[5]

    run = await sync_now(app, api, "tt_rejecting_many")

    assert run["status"] == "partial", run
    assert run["counts"]["users"]["rejected"] == 120
    assert run["counts"]["reservations"]["rejected"] == 1
    assert run["error"] == (
        "users: 120 records rejected (malformed), the first record at position 0: field 'id' must be a "
        f"non-empty string; reservations: 1 record rejected (malformed): record {reservation['id']!r}: "
        f"field 'start' must be a non-empty string; see GET /v1/sync-runs/{run['id']}/rejections"
    )
    path = f"/v1/sync-runs/{run['id']}/rejections"
    first = await api.get(path, params={"limit": 60})
    assert first.status_code == 200
    assert 'rel="next"' in first.headers["link"]
    second = await api.get(path, params={"limit": 60, "cursor": first.json()["next_cursor"]})
    assert second.json()["next_cursor"] is None
    found = first.json()["items"] + second.json()["items"]
    assert len(found) == 101  # 100 of the 120 patients, and the reservation: in the order found
    assert [r["position"] for r in found[:100]] == list(range(100))
    assert all(r["record_id"] is None and r["field"] == "id" for r in found[:100])
    assert found[100] == {
        "stream": "reservations",
        "resource_id": sandbox.resource_ids[0],
        "position": 5,
        "record_id": reservation["id"],
        "field": "start",
        "reason": "must be a non-empty string",
    }
