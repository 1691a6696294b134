"""`Idempotency-Key` on both databases (app/idempotency.py): a retry replays the first answer and
writes nothing; a key is one request's, one partner's and one API key's; a key in use is a 409; what
is not kept (a 5xx, a crash, a refusal of the caller) leaves the key free; secrets are kept encrypted;
expired keys are pruned in batches. The concurrency over real HTTP: tests/test_idempotency_processes.py."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, insert, select, update

from app.db.models import IdempotencyKey, Instance, Partner, WebhookEndpoint, table_of, utcnow
from app.domain.idempotency import REPLAYED_HEADER
from app.services import instances as instances_service
from app.sync.retention import RetentionPolicy, prune
from tests.conftest import assert_problem, create_instance

keys = table_of(IdempotencyKey)
KEPT = ("content-type", "location", "etag")


def _key() -> dict[str, str]:
    return {"Idempotency-Key": secrets.token_hex(16)}


async def _count(app: FastAPI, statement: Any) -> int:
    async with app.state.engine.connect() as connection:
        return int((await connection.execute(statement)).scalar_one())


async def _instances_named(app: FastAPI, name: str) -> int:
    instances = table_of(Instance)
    return await _count(app, select(func.count()).select_from(instances).where(instances.c.name == name))


async def _rows_of(app: FastAPI, key: str) -> int:
    return await _count(app, select(func.count()).select_from(keys).where(keys.c.key == key))


async def test_a_retry_replays_the_first_answer_and_writes_nothing(app, api):
    key = _key()
    first = await api.post("/v1/instances", json={"name": "tt_idem_a"}, headers=key)
    assert first.status_code == 201, first.text
    assert REPLAYED_HEADER.lower() not in first.headers
    again = await api.post("/v1/instances", json={"name": "tt_idem_a"}, headers=key)
    assert again.status_code == 201, again.text
    assert again.content == first.content
    assert {h: again.headers[h] for h in KEPT} == {h: first.headers[h] for h in KEPT}
    assert again.headers[REPLAYED_HEADER] == "true"
    assert again.headers["x-request-id"] != first.headers["x-request-id"]  # each answer its own id
    assert await _instances_named(app, "tt_idem_a") == 1
    # The draft's structured-field form, `"key"`, names the same key.
    quoted = {"Idempotency-Key": f'"{key["Idempotency-Key"]}"'}
    third = await api.post("/v1/instances", json={"name": "tt_idem_a"}, headers=quoted)
    assert third.headers[REPLAYED_HEADER] == "true", third.text


async def test_without_the_header_nothing_is_kept(app, api):
    await create_instance(api, "tt_idem_plain")
    assert (
        await _count(app, select(func.count()).select_from(keys).where(keys.c.path == "/v1/instances")) == 0
    )


async def test_the_same_key_with_another_request_is_a_422(app, api):
    key = _key()
    assert (await api.post("/v1/instances", json={"name": "tt_idem_b"}, headers=key)).status_code == 201
    other_body = await api.post("/v1/instances", json={"name": "tt_idem_c"}, headers=key)
    body = assert_problem(other_body, 422, "idempotency-key-reused")
    assert "another query string or body" in body["detail"]
    other_path = await api.post("/v1/portals", json={"instance": "tt_idem_b"}, headers=key)
    assert "POST /v1/instances" in assert_problem(other_path, 422, "idempotency-key-reused")["detail"]
    other_query = await api.post("/v1/instances?x=1", json={"name": "tt_idem_b"}, headers=key)
    assert other_query.status_code in (422,)  # refused before the route: the query is unknown
    assert await _instances_named(app, "tt_idem_c") == 0


async def test_a_key_belongs_to_one_partner_and_one_api_key(app, api, other, make_client):
    key = _key()
    mine = await api.post("/v1/instances", json={"name": "tt_idem_p1"}, headers=key)
    theirs = await other.post("/v1/instances", json={"name": "tt_idem_p2"}, headers=key)
    assert mine.status_code == theirs.status_code == 201
    assert REPLAYED_HEADER.lower() not in theirs.headers
    # Another key of the same partner, even with the same request, cannot have its answer replayed.
    colleague = await make_client(["instances:read"], partner_id=api.partner_id)
    replay = await colleague.post("/v1/instances", json={"name": "tt_idem_p1"}, headers=key)
    assert "another API key" in assert_problem(replay, 422, "idempotency-key-reused")["detail"]


@pytest.mark.parametrize(
    "value",
    ["x" * 256, "caf\u00e9", " leading", "trailing ", "tab\tinside", ""],
    ids=["too-long", "not-ascii", "leading-space", "trailing-space", "control", "empty"],
)
async def test_a_malformed_key_is_a_422(app, api, value):
    response = await api.post(
        "/v1/instances", json={"name": "tt_idem_bad"}, headers=[("Idempotency-Key", value.encode("latin-1"))]
    )
    body = assert_problem(response, 422, "idempotency-key-invalid")
    assert body["errors"][0]["field"] == "header.Idempotency-Key"
    assert await _instances_named(app, "tt_idem_bad") == 0


async def test_a_key_given_twice_is_a_422(api):
    headers = [("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    response = await api.post("/v1/instances", json={"name": "tt_idem_two"}, headers=headers)
    assert_problem(response, 422, "idempotency-key-invalid")


async def test_a_key_whose_first_request_runs_is_a_409_until_it_is_deemed_abandoned(app, api):
    key = _key()["Idempotency-Key"]
    first = await api.post("/v1/instances", json={"name": "tt_idem_run"}, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    # As if a request with the key were running: its claim, just taken.
    await _set(app, key, state="running", status=None, body=None, headers=None, claimed_at=utcnow())
    await api.delete("/v1/instances/tt_idem_run")
    running = await api.post("/v1/instances", json={"name": "tt_idem_run"}, headers={"Idempotency-Key": key})
    assert_problem(running, 409, "idempotency-key-in-use")
    assert running.headers["retry-after"] == "1"
    # Its process died: once the claim is older than PORTICO_IDEMPOTENCY_CLAIM_SECONDS, a retry runs.
    abandoned = utcnow() - timedelta(seconds=app.state.settings.idempotency_claim_seconds + 1)
    await _set(app, key, claimed_at=abandoned)
    retried = await api.post("/v1/instances", json={"name": "tt_idem_run"}, headers={"Idempotency-Key": key})
    assert retried.status_code == 201, retried.text
    assert REPLAYED_HEADER.lower() not in retried.headers
    assert await _instances_named(app, "tt_idem_run") == 1


async def _set(app: FastAPI, key: str, **values: Any) -> None:
    async with app.state.engine.begin() as connection:
        await connection.execute(update(keys).where(keys.c.key == key).values(**values))


async def test_a_refusal_is_replayed_as_it_was(app, api):
    """A 409 of the procedure is the request's answer: a retry gets it again, whatever changed since."""
    await create_instance(api, "tt_idem_taken")
    key = _key()
    taken = await api.post("/v1/instances", json={"name": "tt_idem_taken"}, headers=key)
    first = assert_problem(taken, 409, "name-taken")
    assert (await api.delete("/v1/instances/tt_idem_taken")).is_success
    again = await api.post("/v1/instances", json={"name": "tt_idem_taken"}, headers=key)
    assert again.status_code == 409
    assert again.headers[REPLAYED_HEADER] == "true"
    assert again.json() == first
    assert await _instances_named(app, "tt_idem_taken") == 0


async def test_a_refusal_of_the_caller_is_not_kept(app, make_client):
    reader = await make_client(["instances:read"])
    key = _key()
    refused = await reader.post("/v1/instances", json={"name": "tt_idem_403"}, headers=key)
    assert_problem(refused, 403, "missing-scope")
    assert await _rows_of(app, key["Idempotency-Key"]) == 0
    unknown = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portico.test")
    async with unknown:
        headers = {**key, "Authorization": "Bearer ptc_0123456789abcdef_nope"}
        assert (await unknown.post("/v1/instances", json={"name": "x"}, headers=headers)).status_code == 401
    assert await _rows_of(app, key["Idempotency-Key"]) == 0


async def test_a_request_that_crashed_frees_its_key(app, api, monkeypatch):
    key = _key()
    real = instances_service.create

    async def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the process failed half-way")

    monkeypatch.setattr(instances_service, "create", crash)
    failed = await api.post("/v1/instances", json={"name": "tt_idem_500"}, headers=key)
    assert_problem(failed, 500, "internal-error")
    assert await _rows_of(app, key["Idempotency-Key"]) == 0
    monkeypatch.setattr(instances_service, "create", real)
    retried = await api.post("/v1/instances", json={"name": "tt_idem_500"}, headers=key)
    assert retried.status_code == 201, retried.text
    assert REPLAYED_HEADER.lower() not in retried.headers


async def test_a_secret_is_replayed_to_its_caller_but_kept_encrypted(app, api):
    key = _key()
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["sync.run.failed"]}
    first = await api.post("/v1/webhook-endpoints", json=body, headers=key)
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    again = await api.post("/v1/webhook-endpoints", json=body, headers=key)
    assert again.json()["secret"] == secret
    assert again.headers[REPLAYED_HEADER] == "true"
    assert again.headers["cache-control"] == "no-store"
    endpoints = table_of(WebhookEndpoint)
    assert (
        await _count(app, select(func.count()).select_from(endpoints).where(endpoints.c.url == body["url"]))
        == 1
    )
    async with app.state.engine.connect() as connection:
        stored = (
            await connection.execute(select(keys.c.body).where(keys.c.key == key["Idempotency-Key"]))
        ).scalar_one()
    assert secret not in stored
    assert secret.split("_")[-1] not in stored


async def test_a_new_api_key_is_replayed_to_the_master_key_only(app, admin):
    partner = (await admin.post("/v1/partners", json={"name": "Keys"})).json()
    key = _key()
    url = f"/v1/partners/{partner['id']}/api-keys"
    first = await admin.post(url, json={"name": "ci"}, headers=key)
    again = await admin.post(url, json={"name": "ci"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json()["key"] == first.json()["key"]
    assert again.headers[REPLAYED_HEADER] == "true"
    listed = (await admin.get(url)).json()["items"]
    assert len(listed) == 1
    async with app.state.engine.connect() as connection:
        stored = (
            await connection.execute(select(keys.c.body).where(keys.c.key == key["Idempotency-Key"]))
        ).scalar_one()
    assert first.json()["key"] not in stored


async def test_the_mapping_set_put_takes_a_key_and_other_puts_ignore_it(app, api):
    await create_instance(api, "tt_idem_portal")
    assert (await api.post("/v1/portals", json={"instance": "tt_idem_portal"})).status_code in (200, 201)
    await api.put("/v1/instances/tt_idem_portal/communications", json={"enabled": False})
    await create_instance(api, "tt_idem_member")
    joined = await api.post("/v1/portals/tt_idem_portal/members", json={"instance": "tt_idem_member"})
    assert joined.status_code == 201, joined.text
    key = _key()
    url = "/v1/portals/tt_idem_portal/members/tt_idem_member/mappings"
    first = await api.put(url, json=[], headers=key)
    again = await api.put(url, json=[], headers=key)
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers[REPLAYED_HEADER] == "true"
    other = _key()
    setting = "/v1/instances/tt_idem_member/settings/colour"
    for _ in range(2):
        response = await api.put(setting, json={"value": "blue"}, headers=other)
        assert response.is_success
        assert REPLAYED_HEADER.lower() not in response.headers
    assert await _rows_of(app, other["Idempotency-Key"]) == 0


async def test_expired_keys_are_pruned_in_batches(app, api):
    async with app.state.engine.begin() as connection:
        await connection.execute(delete(keys))
    sent = [_key() for _ in range(3)]
    for number, key in enumerate(sent):
        assert (
            await api.post("/v1/instances", json={"name": f"tt_idem_old{number}"}, headers=key)
        ).status_code == 201
    fresh = _key()
    assert (await api.post("/v1/instances", json={"name": "tt_idem_new"}, headers=fresh)).status_code == 201
    hours = app.state.settings.idempotency_key_hours
    await _set(app, fresh["Idempotency-Key"], expires_at=utcnow() + timedelta(hours=hours + 2))
    later = utcnow() + timedelta(hours=hours, minutes=1)
    pruned = await prune(app.state.sessionmaker, RetentionPolicy(batch=2, sqlite_pause=0), later)
    assert pruned.idempotency_keys == 3
    assert pruned.batches >= 2  # 3 keys, 2 a batch
    assert await _count(app, select(func.count()).select_from(keys)) == 1
    # A key pruned is free again: the same key now runs its (new) request.
    again = await api.post("/v1/instances", json={"name": "tt_idem_old0"}, headers=sent[0])
    assert_problem(again, 409, "name-taken")


async def test_a_partners_keys_go_with_it(app, admin):
    partner = (await admin.post("/v1/partners", json={"name": "Gone"})).json()
    async with app.state.engine.begin() as connection:
        await connection.execute(
            insert(keys).values(
                owner=partner["id"],
                key="k",
                partner_id=partner["id"],
                fingerprint="0" * 64,
                method="POST",
                path="/v1/instances",
                state="running",
                claim="c",
                claimed_at=utcnow(),
                expires_at=utcnow(),
            )
        )
        await connection.execute(delete(table_of(Partner)).where(table_of(Partner).c.id == partner["id"]))
    assert await _count(app, select(func.count()).select_from(keys).where(keys.c.owner == partner["id"])) == 0
