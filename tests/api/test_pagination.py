"""Every list (every route taking `cursor`, enumerated like tests/api/test_isolation.py does) pages
with signed cursors: crafted ones (each was a 500 on PostgreSQL), another list's, or a tampered one
are a 422 `invalid-cursor`; real paging still works; `Link` never comes from the `Host` header."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests.api.test_isolation import PATH_VALUES, QUERY_VALUES, Endpoint, World, build_world, endpoints, fill
from tests.conftest import MASTER_KEY, SECRET_KEY, assert_problem

CRAFTED = {
    name: base64.urlsafe_b64encode(raw).decode().rstrip("=")
    for name, raw in (
        ("[1]", b"[1]"),
        ('["\\u0000"]', b'["\\u0000"]'),
        ("[true]", b"[true]"),
    )
}
assert CRAFTED["[1]"] == "WzFd"  # as the finding gives it


def list_endpoints(app: FastAPI) -> list[Endpoint]:
    found = [e for e in endpoints(app) if e.method == "GET" and "cursor" in e.query_params]
    assert len(found) >= 12, "the route enumeration is broken"
    return found


def _url(endpoint: Endpoint, world: World) -> str:
    return fill(endpoint.path, {p: PATH_VALUES[p](world)[0] for p in endpoint.path_params})


def _required(endpoint: Endpoint) -> dict[str, str]:
    """The values of the list's required query parameters (the portal search's `service`)."""
    return {q: QUERY_VALUES[q] for q, required in endpoint.query_params.items() if required}


def _client(endpoint: Endpoint, world: World, admin: httpx.AsyncClient) -> httpx.AsyncClient:
    return admin if endpoint.master_only else world.a


async def _every_page(client: httpx.AsyncClient, url: str, required: dict[str, str]) -> list[Any]:
    items, cursor = [], None
    for _ in range(100):
        params: dict[str, Any] = required | {"limit": 1} | ({"cursor": cursor} if cursor else {})
        response = await client.get(url, params=params)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            return items
        assert response.headers["link"].startswith("</v1/"), response.headers["link"]
    raise AssertionError(f"{url}: more than 100 pages")


async def test_crafted_cursors_are_422_on_every_list(app, admin, api, other):
    world = await build_world(admin, api, other)
    failures = []
    for endpoint in list_endpoints(app):
        url = _url(endpoint, world)
        for name, cursor in CRAFTED.items():
            params = _required(endpoint) | {"cursor": cursor}
            response = await _client(endpoint, world, admin).get(url, params=params)
            if response.status_code != 422 or response.json().get("type") != "/problems/invalid-cursor":
                failures.append(f"{endpoint} cursor {name}: {response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)


async def test_real_paging_and_cursors_of_another_list_or_tampered(app, admin, api, other):
    world = await build_world(admin, api, other)
    for endpoint in list_endpoints(app):
        client, url = _client(endpoint, world, admin), _url(endpoint, world)
        # 100: the largest page of every list (the portal search's; the others' go to 500).
        everything = await client.get(url, params=_required(endpoint) | {"limit": 100})
        assert everything.status_code == 200, f"{endpoint}: {everything.text}"
        assert await _every_page(client, url, _required(endpoint)) == everything.json()["items"], endpoint

    first = (await api.get("/v1/instances", params={"limit": 1})).json()
    cursor = first["next_cursor"]
    assert first["items"][0]["name"] == world.a_member  # names sort: a_member, a_portal, a_solo
    # Another list keyed alike (instance names): once accepted, and its page began after a_member.
    assert_problem(await api.get("/v1/portals", params={"cursor": cursor}), 422, "invalid-cursor")
    path = f"/v1/portals/{world.a_portal}/members"
    assert_problem(await api.get(path, params={"cursor": cursor}), 422, "invalid-cursor")
    # The same list under another instance is another list too.
    services = (await api.get(f"/v1/instances/{world.a_portal}/services", params={"limit": 1})).json()
    elsewhere = f"/v1/instances/{world.a_member}/services"
    assert_problem(
        await api.get(elsewhere, params={"cursor": services["next_cursor"]}), 422, "invalid-cursor"
    )
    # Tampered: the name in it changed (it is signed, not encrypted: no secret is in a cursor).
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert json.dumps(world.a_member).encode() in raw
    forged = raw.replace(world.a_member.encode(), world.a_portal.encode())
    tampered = base64.urlsafe_b64encode(forged).decode().rstrip("=")
    assert_problem(await api.get("/v1/instances", params={"cursor": tampered}), 422, "invalid-cursor")
    # The genuine one still works.
    rest = await api.get("/v1/instances", params={"cursor": cursor})
    assert [i["name"] for i in rest.json()["items"]] == [world.a_portal, world.a_solo]


async def test_link_never_names_the_host_the_client_sent(app, admin, api, other):
    world = await build_world(admin, api, other)
    for endpoint in list_endpoints(app):
        client = _client(endpoint, world, admin)
        response = await client.get(
            _url(endpoint, world),
            params=_required(endpoint) | {"limit": 1},
            headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
        )
        assert response.status_code == 200, f"{endpoint}: {response.text}"
        for name, value in response.headers.items():
            assert "evil.example" not in value, f"{endpoint}: {name}: {value}"
        if response.json()["next_cursor"]:
            assert response.headers["link"].startswith(f"<{endpoint.path.split('{')[0]}"), endpoint


async def test_link_is_absolute_on_the_public_url(database_url, make_client):
    client = await make_client()
    for name in ("tt_pub_a", "tt_pub_b"):
        assert (await client.post("/v1/instances", json={"name": name})).status_code == 201
    settings = Settings(
        database_url=database_url,
        master_key=MASTER_KEY,
        secret_keys=SECRET_KEY,
        scheduler=False,
        public_url="https://portico.example/api/",
    )
    public = create_app(settings)
    async with public.router.lifespan_context(public):
        transport = httpx.ASGITransport(app=public)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://evil.example", headers=dict(client.headers)
        ) as evil:
            response = await evil.get("/v1/instances", params={"limit": 1})
    assert response.status_code == 200, response.text
    cursor = response.json()["next_cursor"]
    assert response.headers["link"] == (
        f'<https://portico.example/api/v1/instances?cursor={cursor}&limit=1>; rel="next"'
    )
