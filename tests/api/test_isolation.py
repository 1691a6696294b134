"""Isolation between partners, authentication and scopes, API keys (DESIGN.md §3).

The route sweeps enumerate the application's routes, so a route added later is covered without
editing this file, or makes it fail loudly until its path parameters (PATH_VALUES) and request
body (FOREIGN_BODIES) are described here.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from app.auth import require_master
from tests.conftest import (
    ALL_SCOPES,
    PartnerClient,
    add_member,
    assert_problem,
    create_instance,
    create_portal,
)

# Served without a key, on purpose. Anything else must answer 401 without a valid key.
PUBLIC_PATHS = {
    "/healthz",
    "/readyz",
    "/docs",
    "/docs/assets",
    "/redoc",
    "/openapi.json",
    "/problems",
    "/problems/{slug}",
    "/metrics",  # guarded by PORTICO_METRICS_TOKEN, when set, not by an API key (tests/api/test_metrics.py)
    "/v1/schemas/portal-manifest.json",  # the manifest format, no data
}
# The process's own counters, not anybody's data: they change with every request, B's included.
NOT_DATA = {"/metrics"}
# Authenticated by its Standard Webhooks signature instead of a key (tests/api/test_webhooks.py).
SIGNED_PATHS = {"/v1/webhooks/gesdent"}
WRITE_ORDER = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}


# --------------------------------------------------------------------------------------------------
# The application's routes


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    operation_id: str | None
    path_params: tuple[str, ...]
    query_params: dict[str, bool]  # name -> required
    has_body: bool
    master_only: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.operation_id})"


def _dependants(dependant: Any) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _route_contexts(app: FastAPI) -> Iterator[Any]:
    """Every route, those of included routers too (FastAPI mounts them lazily)."""
    yield from iter_route_contexts(app.routes)


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every (method, path) the application serves, except the public ones."""
    found = []
    for context in _route_contexts(app):
        path = context.path
        if path is None or path in PUBLIC_PATHS or path in SIGNED_PATHS:
            continue
        route = getattr(context, "original_route", context)
        params = tuple(getattr(context, "param_convertors", {}) or {})
        for method in sorted(set(context.methods or ()) - {"HEAD", "OPTIONS"}):
            if isinstance(route, APIRoute):
                deps = list(_dependants(route.dependant))
                extra = route.openapi_extra or {}
                found.append(
                    Endpoint(
                        method=method,
                        path=path,
                        operation_id=route.operation_id,
                        path_params=params,
                        query_params={
                            p.alias: p.field_info.is_required() for d in deps for p in d.query_params
                        },
                        has_body=route.body_field is not None or "requestBody" in extra,
                        master_only=any(d.call is require_master for d in deps),
                    )
                )
            else:  # a plain Starlette route: nothing to introspect, assume the strictest
                found.append(Endpoint(method, path, getattr(route, "name", None), params, {}, True, False))
    found.sort(key=lambda e: (WRITE_ORDER.get(e.method, 1), e.path, e.method))
    return found


# --------------------------------------------------------------------------------------------------
# Partner A's data, and the values each path parameter takes


@dataclass
class World:
    a: httpx.AsyncClient
    b: httpx.AsyncClient
    a_partner: str
    a_key_id: str
    a_portal: str = "tt_iso_a_portal"
    a_member: str = "tt_iso_a_member"
    a_solo: str = "tt_iso_a_solo"
    b_portal: str = "tt_iso_b_portal"
    b_member: str = "tt_iso_b_member"
    b_solo: str = "tt_iso_b_solo"
    a_run_id: str = ""
    a_endpoint_id: str = ""
    a_delivery_id: str = ""
    ghosts: dict[str, str] = field(default_factory=dict)

    @property
    def a_names(self) -> set[str]:
        return {self.a_portal, self.a_member, self.a_solo}

    @property
    def b_names(self) -> set[str]:
        return {self.b_portal, self.b_member, self.b_solo}


# Path parameter -> the values of partner A's objects it is called with. Every path parameter of the
# application must be listed (test_every_path_parameter_has_a_value).
PATH_VALUES: dict[str, Callable[[World], list[str]]] = {
    "name": lambda w: [w.a_portal, w.a_member, w.a_solo],
    "portal": lambda w: [w.a_portal],
    "member": lambda w: [w.a_member],
    "key": lambda _: ["portalInstanceName", "locale"],
    "code": lambda _: ["LIMP", "EMPTY"],
    "member_service": lambda _: ["LIMP", "EXTRA"],
    "partner_id": lambda w: [w.a_partner],
    "key_id": lambda w: [w.a_key_id],
    "run_id": lambda w: [w.a_run_id],
    "endpoint_id": lambda w: [w.a_endpoint_id],
    "delivery_id": lambda w: [w.a_delivery_id],
}
# Values that name partner A's objects (and so get a never-existing twin), by path parameter.
OWNED_PARAMS = {"name", "portal", "member", "partner_id", "key_id", "run_id", "endpoint_id", "delivery_id"}
# Query parameters set on the sweep: the most destructive variant of each.
QUERY_VALUES = {"cascade": "true", "mode": "replace", "dry_run": "false", "service": "LIMP"}

# operationId -> a valid request body for partner B's call on A's objects. Bodies that name an
# instance name one of B's own, so that only the path parameter is foreign. Every operation with a
# path parameter and a body must be listed.
FOREIGN_BODIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "instances_update": lambda _: {"json": {"display_name": "Taken over by B", "member_code": "B-1"}},
    "settings_patch": lambda _: {
        "content": json.dumps({"portalInstanceName": None, "locale": "xx", "added": "by B"}),
        "headers": {"Content-Type": "application/merge-patch+json"},
    },
    "settings_put": lambda _: {"json": {"value": "changed by B"}},
    "communications_put": lambda _: {"json": {"enabled": True, "sms": True, "voice": True, "email": True}},
    "members_add": lambda w: {"json": {"instance": w.b_solo}},
    "services_create": lambda _: {"json": {"code": "BSVC", "name": "B's service", "duration_minutes": 30}},
    "services_update": lambda _: {"json": {"name": "Renamed by B", "web_enabled": False, "price": None}},
    "instances_clone": lambda _: {
        "json": {
            "name": "tt_iso_b_clone",
            "include": ["settings", "communications", "services"],
            "join_portal": True,
        }
    },
    "mappings_create": lambda _: {"json": {"member_service": "EXTRA", "portal_service": "CONS"}},
    "mappings_replace": lambda _: {"json": []},
    "mappings_put": lambda _: {"json": {"portal_service": "CONS"}},
    "services_import": lambda _: {
        "content": "code,name,duration_minutes,price,web_enabled\r\nBSVC,B's service,15,,false\r\n",
        "headers": {"Content-Type": "text/csv"},
    },
    "api_keys_create": lambda _: {"json": {"name": "B's key for A", "scopes": ["instances:read"]}},
    "gesdent_put": lambda _: {"json": GESDENT_RULES},
    "sync_runs_create": lambda _: {"json": {"full_refresh": True}},
    "webhook_endpoints_update": lambda _: {"json": {"url": "http://127.0.0.1:9/b", "enabled": False}},
    "partners_update": lambda _: {"json": {"rate_limit": "1/second"}},
    # The report page's form; B holds no token for A's portal, and gets a 404 before that matters.
    "portals_report_web": lambda w: {"data": {"member": w.a_member, "set": "off:CONS", "csrf_token": "1.x"}},
}
GESDENT_RULES: dict[str, Any] = {
    "base_url": "http://gesdent.b.example/api/",
    "resource_ids": ["BBBB1111-BBBB2222"],
    "credentials": {"users": "b:users-pw", "reservations": "b:res-pw", "availability": "b:av-pw"},
}


async def _ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in (statuses or (200, 201)), response.text
    body: dict[str, Any] = response.json()
    return body


async def build_world(admin: httpx.AsyncClient, api: PartnerClient, other: PartnerClient) -> World:
    a_partner = api.partner_id
    keys = (await _ok(await admin.get(f"/v1/partners/{a_partner}/api-keys")))["items"]
    assert len(keys) == 1, keys
    w = World(a=api, b=other, a_partner=a_partner, a_key_id=keys[0]["id"])

    # A: a ready portal with one member, a standalone instance with settings and communications.
    await create_portal(api, w.a_portal)
    await add_member(api, w.a_portal, w.a_member)
    await _ok(await api.patch(f"/v1/instances/{w.a_member}", json={"member_code": "A-01"}))
    await create_instance(api, w.a_solo, display_name="A's standalone clinic")
    await _ok(
        await api.patch(
            f"/v1/instances/{w.a_solo}/settings",
            content=json.dumps({"locale": "es-ES", "theme": "blue"}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
    )
    await _ok(await api.put(f"/v1/instances/{w.a_member}/settings/locale", json={"value": "ca-ES"}))
    await _ok(
        await api.put(
            f"/v1/instances/{w.a_solo}/communications",
            json={"enabled": True, "sms": False, "voice": True, "email": False},
        )
    )
    await _ok(await api.put(f"/v1/instances/{w.a_solo}/gesdent", json=GESDENT_RULES), 201)
    w.a_run_id = (await _ok(await api.post(f"/v1/instances/{w.a_solo}/sync-runs"), 202))["id"]
    hook = {"url": "http://127.0.0.1:9/a", "event_types": ["sync.run.failed"]}
    w.a_endpoint_id = (await _ok(await api.post("/v1/webhook-endpoints", json=hook), 201))["id"]
    test_event = await api.post(f"/v1/webhook-endpoints/{w.a_endpoint_id}/test")
    w.a_delivery_id = (await _ok(test_event, 202))["id"]
    # B: the same shapes, so that B's lists are not trivially empty.
    await create_portal(other, w.b_portal)
    await add_member(other, w.b_portal, w.b_member)
    await create_instance(other, w.b_solo)
    # Services: the same codes on both partners' instances (codes are unique per instance only), and
    # a mapping from each member's LIMP to its portal's LIMP.
    for client, portal, member, solo in (
        (api, w.a_portal, w.a_member, w.a_solo),
        (other, w.b_portal, w.b_member, w.b_solo),
    ):
        for name, code in (
            (portal, "LIMP"),
            (portal, "CONS"),
            (member, "LIMP"),
            (member, "EXTRA"),
            (solo, "LIMP"),
        ):
            service = {"code": code, "name": f"{code} {name}", "duration_minutes": 30, "price": "45.50"}
            await _ok(
                await client.post(f"/v1/instances/{name}/services", json={**service, "web_enabled": True}),
                201,
            )
        mapping = {"member_service": "LIMP", "portal_service": "LIMP"}
        await _ok(await client.post(f"/v1/portals/{portal}/members/{member}/mappings", json=mapping), 201)

    w.ghosts = {
        w.a_portal: "tt_iso_ghost_portal",
        w.a_member: "tt_iso_ghost_member",
        w.a_solo: "tt_iso_ghost_solo",
        w.a_partner: str(uuid.uuid4()),
        w.a_key_id: str(uuid.uuid4()),
        w.a_run_id: str(uuid.uuid4()),
        w.a_endpoint_id: str(uuid.uuid4()),
        w.a_delivery_id: str(uuid.uuid4()),
    }
    return w


def missing_path_params(app: FastAPI) -> list[str]:
    return sorted({f"{p} (in {e})" for e in endpoints(app) for p in e.path_params if p not in PATH_VALUES})


def calls(endpoint: Endpoint, w: World) -> Iterator[tuple[str, dict[str, str]]]:
    """(url, the owned values used) for every combination of A's values of the path parameters."""
    choices = [PATH_VALUES[p](w) for p in endpoint.path_params]
    for combo in itertools.product(*choices):
        values = dict(zip(endpoint.path_params, combo, strict=True))
        owned = {p: v for p, v in values.items() if p in OWNED_PARAMS}
        yield fill(endpoint.path, values), owned


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], path)


def query_variants(endpoint: Endpoint) -> list[dict[str, str]]:
    """The query with QUERY_VALUES set, and (when that changes anything) with only the required ones."""
    missing = [q for q, required in endpoint.query_params.items() if required and q not in QUERY_VALUES]
    assert not missing, f"{endpoint}: add a value for required query parameter(s) {missing} to QUERY_VALUES"
    full = {q: QUERY_VALUES[q] for q in endpoint.query_params if q in QUERY_VALUES}
    required = {q: v for q, v in full.items() if endpoint.query_params[q]}
    return [full] if full == required else [full, required]


def header_variants(endpoint: Endpoint) -> list[dict[str, str]]:
    """Writes go once without If-Match and once with a stale one: a 412 would reveal the object exists."""
    return [{}, {"If-Match": '"stale-etag"'}] if endpoint.method in ("PUT", "PATCH", "DELETE") else [{}]


async def snapshot(app: FastAPI, w: World, admin: httpx.AsyncClient) -> dict[str, Any]:
    """Everything partner A (or the operator, for partner routes) can read about A's data."""
    seen: dict[str, Any] = {}
    for endpoint in endpoints(app):
        if endpoint.method != "GET" or any(q for q in endpoint.query_params.values()):
            continue
        if endpoint.path in NOT_DATA:
            continue
        client = admin if endpoint.master_only else w.a
        for url, _ in calls(endpoint, w):
            response = await client.get(url)
            assert response.status_code != 500, f"GET {url}: {response.text}"
            body = (
                _without_id(response.json())
                if "json" in response.headers.get("content-type", "")
                else response.text
            )
            seen[url] = (response.status_code, response.headers.get("etag"), body)
    return seen


# --------------------------------------------------------------------------------------------------
# 1. Partner B never reaches partner A's objects


async def test_every_path_parameter_has_a_value(app):
    assert endpoints(app), "no routes found: the route enumeration is broken"
    missing = missing_path_params(app)
    assert not missing, f"add these path parameters to PATH_VALUES in {__file__}: {missing}"
    stale = sorted(set(FOREIGN_BODIES) - {e.operation_id for e in endpoints(app)})
    assert not stale, f"FOREIGN_BODIES names operations that no longer exist: {stale}"


async def test_other_partner_gets_404_on_every_route_naming_my_objects(app, admin, api, other):
    assert not missing_path_params(app), "see test_every_path_parameter_has_a_value"
    w = await build_world(admin, api, other)
    before = await snapshot(app, w, admin)
    assert before[f"/v1/instances/{w.a_portal}"][0] == 200  # the snapshot really reads A's data
    assert before[f"/v1/portals/{w.a_portal}/members/{w.a_member}"][0] == 200
    assert before[f"/v1/instances/{w.a_solo}/settings"][2] == {"locale": "es-ES", "theme": "blue"}
    assert before[f"/v1/instances/{w.a_solo}/services/LIMP"][0] == 200
    assert before[f"/v1/portals/{w.a_portal}/members/{w.a_member}/mappings/LIMP"][0] == 200

    failures: list[str] = []
    swept = 0
    for endpoint in endpoints(app):
        if not endpoint.path_params:
            continue
        request: dict[str, Any] = {}
        if endpoint.has_body:
            if endpoint.operation_id not in FOREIGN_BODIES:
                failures.append(
                    f"{endpoint}: add a valid body for {endpoint.operation_id!r} to FOREIGN_BODIES"
                )
                continue
            request = FOREIGN_BODIES[endpoint.operation_id](w)
        variants = itertools.product(calls(endpoint, w), query_variants(endpoint), header_variants(endpoint))
        for (url, owned), params, extra_headers in variants:
            swept += 1
            sent = {**request, "headers": {**request.get("headers", {}), **extra_headers}}
            response = await other.request(endpoint.method, url, params=params, **sent)
            where = f"{endpoint.method} {url} {params} {extra_headers} as partner B"
            problem = _problem_failure(response, *_expected_for(endpoint))
            if problem:
                failures.append(f"{where}: {problem}")
                continue
            # "Not yours" is indistinguishable from "unknown": same answer for a name that never existed.
            ghost_url = fill(
                endpoint.path,
                {p: w.ghosts.get(v, v) for p, v in _values_of(endpoint, url).items()},
            )
            twin = await other.request(endpoint.method, ghost_url, params=params, **sent)
            twin_text = twin.text
            for real, ghost in w.ghosts.items():
                twin_text = twin_text.replace(ghost, real)
            if twin.status_code != response.status_code or _without_id(json.loads(twin_text)) != _without_id(
                response.json()
            ):
                failures.append(
                    f"{where}: answer differs from the one for an unknown object ({owned}): "
                    f"{response.status_code} {response.text} vs {twin.status_code} {twin.text}"
                )
    assert not failures, f"{len(failures)} of {swept} calls failed:\n" + "\n".join(failures)
    assert swept >= 50, f"only {swept} calls swept: the route enumeration is broken"

    after = await snapshot(app, w, admin)
    changed = {url: (before[url], after.get(url)) for url in before if before[url] != after.get(url)}
    assert not changed, f"partner B changed partner A's data: {changed}"
    assert set(after) == set(before)
    # A's own key (which B tried to revoke) still works.
    assert (await api.get(f"/v1/instances/{w.a_solo}")).status_code == 200


def _expected_for(endpoint: Endpoint) -> tuple[int, str]:
    return (403, "master-key-required") if endpoint.master_only else (404, "not-found")


def _values_of(endpoint: Endpoint, url: str) -> dict[str, str]:
    regex = re.sub(r"\\\{(\w+)(?::\w+)?\\\}", r"(?P<\1>[^/]+)", re.escape(endpoint.path))
    match = re.fullmatch(regex, url)
    assert match, (regex, url)
    return match.groupdict()


def _problem_failure(response: httpx.Response, status: int, slug: str) -> str | None:
    """Why `response` is not the problem `status`/`slug`, or None."""
    if response.status_code != status:
        return f"expected {status} {slug}, got {response.status_code}: {response.text}"
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return f"content-type {response.headers.get('content-type')}"
    body = response.json()
    if body.get("type") != f"/problems/{slug}" or body.get("status") != status or not body.get("title"):
        return f"unexpected problem body {body}"
    return None


async def _all_names(client: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    """Every item name of a list route, following `next_cursor` one item at a time."""
    names: list[str] = []
    cursor = None
    for _ in range(50):
        query = {**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = await _ok(await client.get(path, params=query), 200)
        names += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return names
    raise AssertionError(f"{path} {params}: more pages than expected")


async def test_other_partner_lists_never_show_my_objects(admin, api, other):
    w = await build_world(admin, api, other)
    expected = {
        (): w.b_names,
        (("kind", "portal"),): {w.b_portal},
        (("kind", "member"),): {w.b_member},
        (("kind", "standalone"),): {w.b_solo},
        (("q", "iso"),): w.b_names,
        (("q", "tt_"),): w.b_names,
        (("q", "iso_a"),): set(),
        (("q", w.a_solo),): set(),
        (("q", "standalone clinic"),): set(),  # A's display name
        (("kind", "standalone"), ("q", "solo")): {w.b_solo},
    }
    for params, names in expected.items():
        for client, mine, theirs in ((other, names, w.a_names), (api, None, w.b_names)):
            listed = await _all_names(client, "/v1/instances", **dict(params))
            assert not set(listed) & theirs, (params, listed)
            if mine is not None:
                assert sorted(listed) == sorted(mine), (params, listed)
    # A sees its own data under the same filters: the filters are not simply returning nothing.
    assert sorted(await _all_names(api, "/v1/instances", q="iso_a")) == sorted(w.a_names)
    assert await _all_names(other, "/v1/portals") == [w.b_portal]
    assert await _all_names(api, "/v1/portals") == [w.a_portal]
    assert await _all_names(other, f"/v1/portals/{w.b_portal}/members") == [w.b_member]


async def test_other_partner_cannot_join_my_instances_to_portals(admin, api, other):
    w = await build_world(admin, api, other)
    for mine in sorted(w.a_names):
        # A's instance into B's portal. A leak would show as 201, or 409 already-member or
        # portal-cannot-be-member.
        response = await other.post(f"/v1/portals/{w.b_portal}/members", json={"instance": mine})
        assert_problem(response, 404, "not-found")
        # A's instance promoted by B. A leak would show as 200/201, or 409 member-cannot-be-portal.
        assert_problem(await other.post("/v1/portals", json={"instance": mine}), 404, "not-found")
    # B's instance into A's portal.
    response = await other.post(f"/v1/portals/{w.a_portal}/members", json={"instance": w.b_solo})
    assert_problem(response, 404, "not-found")

    assert await _all_names(other, f"/v1/portals/{w.b_portal}/members") == [w.b_member]
    assert await _all_names(api, f"/v1/portals/{w.a_portal}/members") == [w.a_member]
    assert (await _ok(await other.get(f"/v1/instances/{w.b_solo}")))["kind"] == "standalone"
    for mine, kind in ((w.a_portal, "portal"), (w.a_member, "member"), (w.a_solo, "standalone")):
        assert (await _ok(await api.get(f"/v1/instances/{mine}")))["kind"] == kind
    assert (await _ok(await api.get(f"/v1/portals/{w.a_portal}")))["member_count"] == 1


# --------------------------------------------------------------------------------------------------
# 2. No route works without a valid key


def _unknown_key() -> str:
    return f"ptc_{secrets.token_hex(8)}_{secrets.token_urlsafe(24)}"


BAD_AUTHORIZATION: dict[str, Callable[[], str | None]] = {
    "none": lambda: None,
    "basic-scheme": lambda: "Basic dXNlcjpwYXNzd29yZA==",
    "bearer-without-key": lambda: "Bearer",
    "key-without-scheme": _unknown_key,
    "not-a-portico-key": lambda: "Bearer not-a-key",
    "truncated-key": lambda: "Bearer ptc_" + secrets.token_hex(4),
    "unknown-key": lambda: f"Bearer {_unknown_key()}",
}
SAMPLE_PATH_VALUES = {
    "name": "tt_sample",
    "portal": "tt_sample_portal",
    "member": "tt_sample_member",
    "key": "portalInstanceName",
    "code": "LIMP",
    "member_service": "LIMP",
    "run_id": str(uuid.uuid4()),
    "partner_id": str(uuid.uuid4()),
    "key_id": str(uuid.uuid4()),
    "endpoint_id": str(uuid.uuid4()),
    "delivery_id": str(uuid.uuid4()),
}


async def _assert_every_route_refuses(app: FastAPI, client: httpx.AsyncClient) -> None:
    failures = []
    eps = endpoints(app)
    assert len(eps) >= 20, "the route enumeration is broken"
    for endpoint in eps:
        values = {p: SAMPLE_PATH_VALUES.get(p, "x") for p in endpoint.path_params}
        response = await client.request(endpoint.method, fill(endpoint.path, values))
        problem = _problem_failure(response, 401, "unauthorized")
        if problem is None and not response.headers.get("www-authenticate", "").startswith("Bearer"):
            problem = f"no WWW-Authenticate: Bearer header: {dict(response.headers)}"
        if problem:
            failures.append(f"{endpoint}: {problem}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("variant", list(BAD_AUTHORIZATION))
async def test_every_route_needs_a_key(app, anon, variant):
    authorization = BAD_AUTHORIZATION[variant]()
    if authorization is not None:
        anon.headers["Authorization"] = authorization
    async with anon:
        await _assert_every_route_refuses(app, anon)


async def test_every_route_refuses_a_revoked_key(app, admin, make_client):
    client = await make_client()
    await _ok(await client.post("/v1/instances", json={"name": "tt_iso_revoked"}), 201)
    keys = (await _ok(await admin.get(f"/v1/partners/{client.partner_id}/api-keys")))["items"]
    assert len(keys) == 1
    revoked = await _ok(await admin.delete(f"/v1/api-keys/{keys[0]['id']}"))
    assert revoked["revoked_at"] is not None
    await _assert_every_route_refuses(app, client)


async def test_a_known_key_with_a_wrong_secret_is_refused(app, make_client):
    client = await make_client()
    real = client.headers["Authorization"].removeprefix("Bearer ")
    lookup = real[: real.rindex("_")]  # ptc_<lookup>
    client.headers["Authorization"] = f"Bearer {lookup}_{secrets.token_urlsafe(24)}"
    await _assert_every_route_refuses(app, client)


# --------------------------------------------------------------------------------------------------
# 3. Scopes and kinds of key


async def _partner_with_data(make_client: Any) -> tuple[httpx.AsyncClient, str]:
    owner = await make_client()
    await create_portal(owner, "tt_iso_scoped_portal")
    await create_instance(owner, "tt_iso_scoped_solo")
    return owner, owner.partner_id


async def test_instances_write_scope_is_required_to_create(make_client):
    owner, partner_id = await _partner_with_data(make_client)
    scopes = [s for s in ALL_SCOPES if s != "instances:write"]
    limited = await make_client(scopes, partner_id=partner_id)
    body = assert_problem(
        await limited.post("/v1/instances", json={"name": "tt_iso_new"}), 403, "missing-scope"
    )
    assert body["required_scope"] == "instances:write"
    assert "instances:write" in body["detail"]
    assert_problem(
        await limited.patch("/v1/instances/tt_iso_scoped_solo", json={"display_name": "x"}),
        403,
        "missing-scope",
    )
    assert_problem(await owner.get("/v1/instances/tt_iso_new"), 404, "not-found")
    assert (await _ok(await owner.get("/v1/instances/tt_iso_scoped_solo")))[
        "display_name"
    ] == "tt_iso_scoped_solo"


async def test_portals_write_scope_is_required_to_promote_and_add_members(make_client):
    owner, partner_id = await _partner_with_data(make_client)
    scopes = [s for s in ALL_SCOPES if s != "portals:write"]
    limited = await make_client(scopes, partner_id=partner_id)
    await create_instance(owner, "tt_iso_other_solo")
    body = assert_problem(
        await limited.post("/v1/portals", json={"instance": "tt_iso_other_solo"}), 403, "missing-scope"
    )
    assert body["required_scope"] == "portals:write"
    response = await limited.post(
        "/v1/portals/tt_iso_scoped_portal/members", json={"instance": "tt_iso_scoped_solo"}
    )
    body = assert_problem(response, 403, "missing-scope")
    assert body["required_scope"] == "portals:write"
    # Nothing happened; the same calls with the scope do work (so the 403 was about the scope only).
    assert (await _ok(await owner.get("/v1/instances/tt_iso_other_solo")))["kind"] == "standalone"
    assert (await _ok(await owner.get("/v1/portals/tt_iso_scoped_portal")))["member_count"] == 0
    await _ok(await owner.post("/v1/portals", json={"instance": "tt_iso_other_solo"}), 201)
    await _ok(
        await owner.post("/v1/portals/tt_iso_scoped_portal/members", json={"instance": "tt_iso_scoped_solo"}),
        201,
    )


async def test_a_read_only_key_can_read(make_client):
    _, partner_id = await _partner_with_data(make_client)
    reader = await make_client(["instances:read"], partner_id=partner_id)
    listed = await _ok(await reader.get("/v1/instances"), 200)
    assert sorted(i["name"] for i in listed["items"]) == ["tt_iso_scoped_portal", "tt_iso_scoped_solo"]
    assert (await _ok(await reader.get("/v1/instances/tt_iso_scoped_solo"), 200))[
        "name"
    ] == "tt_iso_scoped_solo"
    assert (await _ok(await reader.get("/v1/instances/tt_iso_scoped_portal/settings"), 200)) == {
        "portalInstanceName": "portal"
    }
    assert (await _ok(await reader.get("/v1/portals"), 200))["items"][0]["name"] == "tt_iso_scoped_portal"
    assert (await _ok(await reader.get("/v1/portals/tt_iso_scoped_portal"), 200))["ready"] is True
    response = await reader.put("/v1/instances/tt_iso_scoped_solo/communications", json={"enabled": False})
    assert assert_problem(response, 403, "missing-scope")["required_scope"] == "instances:write"


async def test_a_key_without_instances_read_cannot_read(make_client):
    _, partner_id = await _partner_with_data(make_client)
    writer = await make_client(["portals:write"], partner_id=partner_id)
    body = assert_problem(await writer.get("/v1/instances"), 403, "missing-scope")
    assert body["required_scope"] == "instances:read"
    assert_problem(await writer.get("/v1/portals/tt_iso_scoped_portal"), 403, "missing-scope")


async def test_master_key_is_refused_on_configuration_routes_with_a_hint(admin, make_client):
    await _partner_with_data(make_client)
    for method, url in (
        ("GET", "/v1/instances"),
        ("GET", "/v1/instances/tt_iso_scoped_solo"),
        ("POST", "/v1/instances"),
        ("GET", "/v1/portals"),
    ):
        body = {"name": "tt_iso_by_master"} if method == "POST" else None
        problem = assert_problem(await admin.request(method, url, json=body), 403, "master-key-not-allowed")
        assert "POST /v1/partners" in problem["detail"], problem
        assert "api-keys" in problem["detail"], problem


async def test_partner_key_is_refused_on_partner_administration(admin, api):
    own = api.partner_id
    for method, url, body in (
        ("GET", "/v1/partners", None),
        ("POST", "/v1/partners", {"name": "self-made partner"}),
        ("GET", f"/v1/partners/{own}", None),
        ("GET", f"/v1/partners/{own}/api-keys", None),
        ("POST", f"/v1/partners/{own}/api-keys", {"name": "self-minted"}),
    ):
        assert_problem(await api.request(method, url, json=body), 403, "master-key-required")
    partners = (await _ok(await admin.get("/v1/partners")))["items"]
    assert [p["id"] for p in partners] == [own]
    assert len((await _ok(await admin.get(f"/v1/partners/{own}/api-keys")))["items"]) == 1


# --------------------------------------------------------------------------------------------------
# 4. API keys


async def _new_partner(admin: httpx.AsyncClient, name: str = "keys partner") -> str:
    partner: str = (await _ok(await admin.post("/v1/partners", json={"name": name}), 201))["id"]
    return partner


async def test_key_is_shown_once_and_never_again(app, admin):
    partner = await _new_partner(admin)
    created = await admin.post(
        f"/v1/partners/{partner}/api-keys", json={"name": "ci", "scopes": ["instances:read"]}
    )
    body = await _ok(created, 201)
    assert created.headers.get("cache-control") == "no-store"
    key, prefix = body["key"], body["prefix"]
    assert re.fullmatch(r"ptc_[A-Za-z0-9_-]+", key), key
    assert key.startswith(prefix)
    assert prefix.startswith("ptc_")
    # What the prefix does not reveal must carry ≥128 random bits (base64url: 6 bits a character).
    hidden = key[len(prefix) :].lstrip("_")
    assert len(hidden) * 6 >= 128, key
    assert not any(k in body for k in ("key_hash", "hash", "lookup")), body

    listed = await admin.get(f"/v1/partners/{partner}/api-keys")
    items = (await _ok(listed))["items"]
    assert [i["prefix"] for i in items] == [prefix]
    assert set(items[0]) == {"id", "partner_id", "name", "scopes", "prefix", "created_at", "revoked_at"}, (
        items
    )
    assert hidden not in listed.text
    revoked = await admin.delete(f"/v1/api-keys/{body['id']}")
    assert set(await _ok(revoked)) == set(items[0])
    assert hidden not in revoked.text
    assert hidden not in (await admin.get(f"/v1/partners/{partner}")).text

    # Two keys never share their secret part.
    second = await _ok(await admin.post(f"/v1/partners/{partner}/api-keys", json={}), 201)
    assert second["key"] != key
    assert second["prefix"] != prefix


async def test_default_scopes_exclude_patients_read(admin):
    partner = await _new_partner(admin)
    for body in ({}, {"name": "no scopes given"}, {"scopes": None}):
        created = await _ok(await admin.post(f"/v1/partners/{partner}/api-keys", json=body), 201)
        assert sorted(created["scopes"]) == sorted(s for s in ALL_SCOPES if s != "patients:read"), created
    explicit = await _ok(
        await admin.post(f"/v1/partners/{partner}/api-keys", json={"scopes": ["patients:read"]}), 201
    )
    assert explicit["scopes"] == ["patients:read"]


@pytest.mark.parametrize(
    "scopes", [["instances:read", "instances:admin"], ["*"], ["INSTANCES:READ"], [], "instances:read"]
)
async def test_unknown_or_empty_scopes_are_422(admin, scopes):
    partner = await _new_partner(admin)
    response = await admin.post(f"/v1/partners/{partner}/api-keys", json={"name": "bad", "scopes": scopes})
    body = assert_problem(response, 422, "validation-error")
    assert any(e["field"].startswith("body.scopes") for e in body["errors"]), body
    assert (await _ok(await admin.get(f"/v1/partners/{partner}/api-keys")))["items"] == []


async def test_partner_revokes_its_own_keys_but_not_another_partners(admin, make_client):
    mine = await make_client([*ALL_SCOPES, "keys:write"])
    theirs = await make_client()
    spare = await _ok(
        await admin.post(f"/v1/partners/{mine.partner_id}/api-keys", json={"name": "spare"}), 201
    )
    their_keys = (await _ok(await admin.get(f"/v1/partners/{theirs.partner_id}/api-keys")))["items"]
    assert len(their_keys) == 1

    # Another partner's key id, and an id that never existed, answer alike.
    assert_problem(await mine.delete(f"/v1/api-keys/{their_keys[0]['id']}"), 404, "not-found")
    assert_problem(await mine.delete(f"/v1/api-keys/{uuid.uuid4()}"), 404, "not-found")
    assert (await theirs.get("/v1/instances")).status_code == 200
    assert (await _ok(await admin.get(f"/v1/partners/{theirs.partner_id}/api-keys")))["items"] == their_keys

    revoked = await _ok(await mine.delete(f"/v1/api-keys/{spare['id']}"), 200)
    assert revoked["id"] == spare["id"]
    assert revoked["revoked_at"] is not None
    spare_client = httpx.AsyncClient(
        transport=mine._transport, base_url=mine.base_url, headers={"Authorization": f"Bearer {spare['key']}"}
    )
    async with spare_client:
        assert_problem(await spare_client.get("/v1/instances"), 401, "unauthorized")
    # Revoking again is harmless and keeps the first revocation time.
    again = await _ok(await mine.delete(f"/v1/api-keys/{spare['id']}"), 200)
    assert again["revoked_at"] == revoked["revoked_at"]
    assert (await mine.get("/v1/instances")).status_code == 200


async def test_a_partner_key_can_revoke_itself(admin, make_client):
    client = await make_client()
    keys = (await _ok(await admin.get(f"/v1/partners/{client.partner_id}/api-keys")))["items"]
    assert len(keys) == 1
    revoked = await _ok(await client.delete(f"/v1/api-keys/{keys[0]['id']}"), 200)
    assert revoked["revoked_at"] is not None
    assert_problem(await client.get("/v1/instances"), 401, "unauthorized")


def _without_id(body: Any) -> Any:
    """A problem's body but its `request_id`, which is each answer's own."""
    return {k: v for k, v in body.items() if k != "request_id"} if isinstance(body, dict) else body
