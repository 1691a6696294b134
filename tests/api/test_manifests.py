"""Portal manifests on both databases: plan, apply, export, and what stands in their way."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from tests.api.manifest_docs import PORTAL, manifest
from tests.conftest import assert_problem, create_instance, create_portal


async def plan(client: httpx.AsyncClient, document: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/portal-manifests/plan", json=document)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def apply(client: httpx.AsyncClient, document: dict[str, Any], fingerprint: str) -> httpx.Response:
    return await client.post("/v1/portal-manifests/apply", json={"manifest": document, "fingerprint": fingerprint})


async def test_a_portal_of_20_members_is_built_from_nothing_and_exports_to_no_change(api):
    document = manifest(20)
    planned = await plan(api, document)
    assert planned["problems"] == [], planned["problems"]
    # 1 portal instance + promotion + 1 setting + 3 services; per member: instance, membership,
    # 1 setting, 3 services, 3 mappings, gesdent rules.
    assert planned["summary"] == {"create": 6 + 20 * 10, "update": 0, "delete": 0}
    applied = await apply(api, document, planned["fingerprint"])
    assert applied.status_code == 200, applied.text
    assert applied.json()["summary"] == planned["summary"]

    report = (await api.get(f"/v1/portals/{PORTAL}/report")).json()
    assert len(report["members"]) == 20
    assert all(m["mapped"] == 3 and m["unmapped"] == [] for m in report["members"])
    rules = (await api.get("/v1/instances/tt_clinic_007/gesdent")).json()
    assert rules["credentials"]["users"] == {"username": "digest", "password_set": True}

    exported = await api.get(f"/v1/portals/{PORTAL}/manifest")
    assert exported.status_code == 200, exported.text
    again = await plan(api, exported.json())
    assert again["changes"] == [] and again["problems"] == []
    assert again["fingerprint"] == applied.json()["fingerprint"]
    # The original manifest, secrets included, plans no change either: the passwords are the same.
    assert (await plan(api, document))["changes"] == []
    noop = await apply(api, exported.json(), again["fingerprint"])
    assert noop.status_code == 200, noop.text
    assert noop.json()["changes"] == []
