"""The order in which a request's errors are reported, on every route that names an object in its path:
the key first (401, then 403 for a missing scope), then the request's validation (422), and only then
whether the named objects exist (404). A lookup that ran earlier would tell a caller without the scope,
or with a malformed request, which names exist; and it would change the answers clients rely on.

The routes are enumerated (tests/api/test_isolation.py), so a route added later is covered too.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.api.test_isolation import SAMPLE_PATH_VALUES, Endpoint, endpoints, fill
from tests.conftest import assert_problem

# A scope no route but key revocation asks for: with it alone, every other route is a 403.
ONLY_SCOPE = "keys:write"
# Needs no scope: a partner key revokes itself, or another key of its partner with keys:write.
SCOPE_FREE = {"api_keys_revoke"}
# An input of each kind that fails validation, whatever the route (JSON bodies are objects or lists).
BAD_QUERY = {"cascade": "maybe", "limit": "0", "dry_run": "maybe", "mode": "sideways", "page": "0"}
BAD_JSON_BODY = 12345
BAD_IF_MATCH = {"If-Match": "x" * 1001}


def _named(app: FastAPI) -> list[Endpoint]:
    """Every route with an object in its path, partner routes only (the master key's answer 403)."""
    return [e for e in endpoints(app) if e.path_params and not e.master_only]


def _unknown_url(endpoint: Endpoint) -> str:
    return fill(endpoint.path, {p: SAMPLE_PATH_VALUES[p] for p in endpoint.path_params})


async def test_a_key_without_the_scope_gets_403_before_any_404(app, make_client):
    limited = await make_client([ONLY_SCOPE])
    failures = []
    for endpoint in _named(app):
        if endpoint.operation_id in SCOPE_FREE:
            continue
        response = await limited.request(endpoint.method, _unknown_url(endpoint))
        if response.status_code != 403 or response.json().get("type") != "/problems/missing-scope":
            failures.append(f"{endpoint}: {response.status_code} {response.text}")
    assert not failures, "\n".join(failures)


def _invalid_variants(endpoint: Endpoint, app: FastAPI) -> list[tuple[str, dict[str, Any]]]:
    """(what is wrong, the request's keyword arguments) for each input of the route that can be wrong."""
    spec = app.openapi()["paths"].get(endpoint.path, {}).get(endpoint.method.lower(), {})
    variants: list[tuple[str, dict[str, Any]]] = [
        (f"query {name}", {"params": {name: BAD_QUERY[name]}})
        for name in endpoint.query_params
        if name in BAD_QUERY
    ]
    if any(p["in"] == "header" and p["name"] == "If-Match" for p in spec.get("parameters", [])):
        variants.append(("If-Match", {"headers": BAD_IF_MATCH}))
    if any(media.endswith("json") for media in spec.get("requestBody", {}).get("content", {})):
        variants.append(("body", {"json": BAD_JSON_BODY}))
    return variants


async def test_an_invalid_request_gets_422_before_any_404(app, api):
    failures, checked = [], 0
    for endpoint in _named(app):
        for what, request in _invalid_variants(endpoint, app):
            checked += 1
            response = await api.request(endpoint.method, _unknown_url(endpoint), **request)
            if response.status_code != 422:
                failures.append(f"{endpoint} with an invalid {what}: {response.status_code} {response.text}")
    assert not failures, "\n".join(failures)
    assert checked >= 30, f"only {checked} requests checked: the route enumeration is broken"


async def test_an_invalid_path_parameter_gets_422_not_404(api):
    assert_problem(await api.get("/v1/instances/not%20a%20name"), 422, "validation-error")
    assert_problem(await api.get("/v1/instances/tt_x/services/not%20a%20code"), 422, "validation-error")
    assert_problem(await api.get("/v1/portals/tt_x/members/not%20a%20name"), 422, "validation-error")


async def test_an_unknown_instance_is_404_with_suggestions(api):
    created = await api.post("/v1/instances", json={"name": "tt_lookup_order"})
    assert created.status_code == 201, created.text
    response: httpx.Response = await api.get("/v1/instances/tt_lookup_ordr/services", params={"limit": 5})
    body = assert_problem(response, 404, "not-found")
    assert body["suggestions"] == ["tt_lookup_order"], body
