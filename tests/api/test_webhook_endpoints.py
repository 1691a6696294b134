"""/v1/webhook-endpoints: create (the secret shown once), list, get, patch, delete, rotate; the SSRF
rules of GESDENT addresses; another partner's endpoint is a 404."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import assert_problem

URL = "/v1/webhook-endpoints"
RECEIVER = "http://127.0.0.1:9/hooks"
ALLOW = "set PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS=true to allow it"


@pytest.fixture
async def private_networks(app: FastAPI, request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Loopback receivers need the setting on, explicitly; `forbidden` tests turn it off."""
    settings = app.state.settings
    before = settings.gesdent_allow_private_networks
    settings.gesdent_allow_private_networks = getattr(request, "param", True)
    try:
        yield
    finally:
        settings.gesdent_allow_private_networks = before


async def create(client: Any, **fields: Any) -> dict[str, Any]:
    body = {"url": RECEIVER, "event_types": ["sync.run.failed"], **fields}
    response = await client.post(URL, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_shows_the_secret_once(api, app: FastAPI, private_networks: None) -> None:
    response = await api.post(
        URL, json={"url": RECEIVER, "event_types": ["sync.run.failed"], "description": "ops"}
    )
    assert response.status_code == 201
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert response.headers["Location"] == f"{URL}/{created['id']}"
    assert response.headers["Cache-Control"] == "no-store"
    assert created["enabled"] is True
    assert created["event_types"] == ["sync.run.failed"]
    secret = created["secret"]
    for answer in (await api.get(URL), await api.get(f"{URL}/{created['id']}")):
        assert answer.status_code == 200
        assert "secret" not in answer.text.replace("previous_secret_expires_at", "")
        assert secret not in answer.text
    async with app.state.engine.connect() as connection:  # stored encrypted, never in clear
        stored = (await connection.execute(text("SELECT secret FROM webhook_endpoints"))).scalar_one()
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored


async def test_list_is_paginated_and_the_partners_own(api, other, private_networks: None) -> None:
    ids = [(await create(api, description=f"n{i}"))["id"] for i in range(3)]
    await create(other)
    first = await api.get(URL, params={"limit": 2})
    assert [e["id"] for e in first.json()["items"]] == ids[:2]
    second = await api.get(URL, params={"limit": 2, "cursor": first.json()["next_cursor"]})
    assert [e["id"] for e in second.json()["items"]] == ids[2:]
    assert second.json()["next_cursor"] is None


async def test_patch_disable_enable_and_if_match(api, private_networks: None) -> None:
    endpoint = await create(api)
    item = f"{URL}/{endpoint['id']}"
    etag = (await api.get(item)).headers["ETag"]
    patched = await api.patch(
        item,
        json={"enabled": False, "event_types": ["webhook.test", "sync.run.succeeded"]},
        headers={"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["enabled"] is False
    assert patched.json()["disabled_reason"] == "disabled by hand"
    assert patched.json()["event_types"] == ["webhook.test", "sync.run.succeeded"]
    assert_problem(
        await api.patch(item, json={"description": "x"}, headers={"If-Match": etag}),
        412,
        "precondition-failed",
    )
    enabled = await api.patch(item, json={"enabled": True})
    assert enabled.json()["enabled"] is True
    assert enabled.json()["disabled_reason"] is None


async def test_unknown_event_type_is_refused(api, private_networks: None) -> None:
    response = await api.post(URL, json={"url": RECEIVER, "event_types": ["sync.run.exploded"]})
    assert_problem(response, 422, "validation-error")


async def test_delete(api, private_networks: None) -> None:
    endpoint = await create(api)
    assert (await api.delete(f"{URL}/{endpoint['id']}")).status_code == 204
    assert_problem(await api.get(f"{URL}/{endpoint['id']}"), 404, "not-found")


async def test_rotate_shows_the_new_secret_once(api, private_networks: None) -> None:
    endpoint = await create(api)
    rotated = await api.post(f"{URL}/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != endpoint["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    shown = await api.get(f"{URL}/{endpoint['id']}")
    assert rotated.json()["secret"] not in shown.text


async def test_another_partners_endpoint_is_a_404(api, other, private_networks: None) -> None:
    endpoint = await create(api)
    item = f"{URL}/{endpoint['id']}"
    for response in (
        await other.get(item),
        await other.patch(item, json={"enabled": False}),
        await other.delete(item),
        await other.post(f"{item}/rotate-secret"),
        await other.post(f"{item}/test"),
        await other.get(f"{item}/deliveries"),
    ):
        assert_problem(response, 404, "not-found")
    assert (await api.get(item)).json()["enabled"] is True


async def test_scopes(make_client, private_networks: None) -> None:
    reader = await make_client(["webhooks:read"])
    assert (await reader.get(URL)).status_code == 200
    assert_problem(
        await reader.post(URL, json={"url": RECEIVER, "event_types": ["webhook.test"]}), 403, "missing-scope"
    )


@pytest.mark.parametrize("private_networks", [False], indirect=True)
async def test_private_addresses_are_refused(api, private_networks: None) -> None:
    response = await api.post(
        URL, json={"url": "http://127.0.0.1:8080/hook", "event_types": ["webhook.test"]}
    )
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == [
        {"field": "body.url", "message": f"url points at a loopback address (127.0.0.1); {ALLOW}"}
    ]
    response = await api.post(
        URL, json={"url": "http://localhost:8080/hook", "event_types": ["webhook.test"]}
    )
    assert_problem(response, 422, "validation-error")
    assert "127.0.0.1" not in response.text
    endpoint_url = "http://user:pw@hooks.example.com/"
    response = await api.post(URL, json={"url": endpoint_url, "event_types": ["webhook.test"]})
    assert_problem(response, 422, "validation-error")
