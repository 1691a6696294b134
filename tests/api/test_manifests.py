"""Portal manifests on both databases: plan, apply, export, and what stands in their way."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import text

from app.db.repositories import mappings as mappings_repo
from app.schemas.manifest_plans import ManifestApplied, ManifestPlanPublic
from tests.api.manifest_docs import PORTAL, manifest
from tests.conftest import assert_problem, create_instance, create_portal


def described(model: type[BaseModel], body: dict[str, Any]) -> None:
    """The answers are built as plain data (app/schemas/manifest_plans.py): each is exactly what its
    model, which the spec shows, describes — no field more or less, each of its type."""
    assert model.model_validate(body, strict=True).model_dump(mode="json") == body


async def plan(client: httpx.AsyncClient, document: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/portal-manifests/plan", json=document)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    described(ManifestPlanPublic, body)
    return body


async def apply(client: httpx.AsyncClient, document: dict[str, Any], fingerprint: str) -> httpx.Response:
    response = await client.post(
        "/v1/portal-manifests/apply", json={"manifest": document, "fingerprint": fingerprint}
    )
    if response.status_code == 200:
        described(ManifestApplied, response.json())
    return response


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
    assert again["changes"] == []
    assert again["problems"] == []
    assert again["fingerprint"] == applied.json()["fingerprint"]
    # The original manifest, secrets included, plans no change either: the passwords are the same.
    assert (await plan(api, document))["changes"] == []
    noop = await apply(api, exported.json(), again["fingerprint"])
    assert noop.status_code == 200, noop.text
    assert noop.json()["changes"] == []


async def _count_rows(app) -> dict[str, int]:
    counts = {}
    async with app.state.engine.connect() as connection:
        for table in (
            "instances",
            "instance_settings",
            "memberships",
            "services",
            "mappings",
            "gesdent_connections",
        ):
            counts[table] = (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    return counts


async def test_a_plan_writes_nothing(app, api):
    before = await _count_rows(app)
    planned = await plan(api, manifest(5))
    assert planned["summary"]["create"] > 0
    assert await _count_rows(app) == before


async def _applied(client: httpx.AsyncClient, document: dict[str, Any]) -> dict[str, Any]:
    planned = await plan(client, document)
    response = await apply(client, document, planned["fingerprint"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_changed_manifest_plans_exactly_its_changes(api):
    document = manifest(4)
    await _applied(api, document)
    changed = copy.deepcopy(document)
    changed["portal"]["services"][0]["duration_minutes"] = 45
    changed["members"][1]["display_name"] = "Clinic One, renamed"
    changed["members"][2]["mappings"]["M001"] = "P002"
    changed["members"][3]["services"].append({"code": "NEW", "name": "New", "duration_minutes": 15})
    changed["members"].append({"name": "tt_clinic_new", "member_code": "N1"})
    planned = await plan(api, changed)
    got = {(c["action"], c["kind"], c["target"]) for c in planned["changes"]}
    assert got == {
        ("update", "service", f"{PORTAL}/services/P000"),
        ("update", "instance", "tt_clinic_001"),
        ("update", "mapping", f"{PORTAL}/members/tt_clinic_002/mappings/M001"),
        ("create", "service", "tt_clinic_003/services/NEW"),
        ("create", "instance", "tt_clinic_new"),
        ("create", "membership", f"{PORTAL}/members/tt_clinic_new"),
    }
    service = next(c for c in planned["changes"] if c["target"] == f"{PORTAL}/services/P000")
    assert service["fields"] == [{"field": "duration_minutes", "before": 30, "after": 45}]
    codes = {w["code"] for w in planned["warnings"] if w["target"] == "tt_clinic_new"}
    assert codes == {"no-gesdent-rules"}
    # Nothing is deleted without prune; with it, what the manifest no longer lists goes.
    pruned = copy.deepcopy(document)
    pruned["prune"] = True
    pruned["members"] = pruned["members"][:3]
    del pruned["members"][0]["settings"]["colour"]
    got = {(c["action"], c["kind"], c["target"]) for c in (await plan(api, pruned))["changes"]}
    assert got == {
        ("delete", "membership", f"{PORTAL}/members/tt_clinic_003"),
        ("delete", "setting", "tt_clinic_000/settings/colour"),
    }
    await _applied(api, pruned)
    members = (await api.get(f"/v1/portals/{PORTAL}/members")).json()["items"]
    assert [m["name"] for m in members] == ["tt_clinic_000", "tt_clinic_001", "tt_clinic_002"]
    assert (await api.get("/v1/instances/tt_clinic_003")).status_code == 200  # detached, not deleted


async def test_an_apply_whose_state_moved_since_the_plan_is_a_412(api):
    document = manifest(3)
    await _applied(api, document)
    document["members"][0]["display_name"] = "Renamed"
    planned = await plan(api, document)
    moved = await api.patch("/v1/instances/tt_clinic_002/services/M000", json={"web_enabled": False})
    assert moved.status_code == 200, moved.text
    refused = await apply(api, document, planned["fingerprint"])
    body = assert_problem(refused, 412, "manifest-state-changed")
    assert body["etag"] != planned["fingerprint"]
    assert (await api.get("/v1/instances/tt_clinic_000")).json()["display_name"] == "Clinic 0"
    assert (await apply(api, document, body["etag"])).status_code == 200


async def test_an_invalid_manifest_lists_every_problem(api, other):
    await create_instance(other, "tt_elsewhere")
    await create_portal(api, "tt_other_portal")
    await create_instance(api, "tt_taken_member")
    joined = await api.post("/v1/portals/tt_other_portal/members", json={"instance": "tt_taken_member"})
    assert joined.status_code == 201, joined.text
    document = manifest(2, gesdent=False)
    document["members"][0]["mappings"]["M009"] = "P000"  # no such member service
    document["members"][1]["mappings"]["M000"] = "P999"  # no such portal service
    document["members"] += [
        {"name": "tt_elsewhere"},  # another partner's
        {"name": "tt_taken_member"},  # a member of another portal
        {"name": "tt_other_portal"},  # a portal
        {"name": "tt_chain_portal"},  # itself
        {"name": "tt_cloned", "model": "tt_nowhere", "services": "as_model"},
    ]
    planned = await plan(api, document)
    got = sorted((p["type"], p["target"]) for p in planned["problems"])
    assert got == sorted(
        [
            ("/problems/validation-error", f"{PORTAL}/members/tt_clinic_000/mappings/M009"),
            ("/problems/validation-error", f"{PORTAL}/members/tt_clinic_001/mappings/M000"),
            ("/problems/name-taken", "tt_elsewhere"),
            ("/problems/already-member", "tt_taken_member"),
            ("/problems/portal-cannot-be-member", "tt_other_portal"),
            ("/problems/self-membership", "tt_chain_portal"),
            ("/problems/not-found", "tt_cloned"),
        ]
    )
    refused = await apply(api, document, planned["fingerprint"])
    body = assert_problem(refused, 422, "manifest-invalid")
    assert len(body["problems"]) == 7
    assert (await api.get(f"/v1/instances/{PORTAL}")).status_code == 404  # nothing was written
    assert (await other.get("/v1/instances/tt_elsewhere")).json()["display_name"] == "tt_elsewhere"
    # A document that does not fit the schema is a 422 listing every field.
    broken = manifest(1)
    broken["portal"]["services"][0]["duration_minutes"] = 0
    broken["members"][0]["name"] = "Not A Name"
    broken["surprise"] = True
    invalid = assert_problem(
        await api.post("/v1/portal-manifests/plan", json=broken), 422, "validation-error"
    )
    assert len(invalid["errors"]) == 3


async def test_another_partners_portal_is_out_of_reach(api, other):
    await create_portal(other, "tt_chain_portal")
    assert_problem(await api.get(f"/v1/portals/{PORTAL}/manifest"), 404, "not-found")
    planned = await plan(api, manifest(1, gesdent=False))
    assert [(p["type"], p["target"]) for p in planned["problems"]] == [("/problems/name-taken", PORTAL)]


async def test_a_failure_half_way_leaves_nothing(app, api, monkeypatch):
    document = manifest(20)
    planned = await plan(api, document)
    before = await _count_rows(app)
    real = mappings_repo.insert_rows
    calls = 0

    async def failing(session, rows):
        nonlocal calls
        calls += 1
        await real(session, rows)  # every instance, service, rule and mapping written, then a failure
        raise RuntimeError("a later step fails")

    monkeypatch.setattr(mappings_repo, "insert_rows", failing)
    failed = await apply(api, document, planned["fingerprint"])
    assert_problem(failed, 500, "internal-error")
    assert calls == 1
    assert await _count_rows(app) == before


async def test_secrets_are_never_echoed(api, log_lines):
    document = manifest(2)
    secret = document["secrets"]["chain_password"]
    planned = await api.post("/v1/portal-manifests/plan", json=document)
    applied = await apply(api, document, planned.json()["fingerprint"])
    changed = copy.deepcopy(document)
    changed["secrets"]["chain_password"] = "an0ther-Secret"
    replanned = await api.post("/v1/portal-manifests/plan", json=changed)
    passwords = [
        f for c in replanned.json()["changes"] for f in c["fields"] if f["field"].endswith(".password")
    ]
    assert len(passwords) == 6
    assert {p["after"] for p in passwords} == {"(secret)"}
    bad = copy.deepcopy(document)
    bad["secrets"]["chain_password"] = secret * 100  # too long: the error says so, without the value
    invalid = await api.post("/v1/portal-manifests/plan", json=bad)
    exported = await api.get(f"/v1/portals/{PORTAL}/manifest")
    for response in (planned, applied, replanned, invalid, exported):
        assert secret not in response.text
        assert "an0ther-Secret" not in response.text
    assert invalid.status_code == 422
    assert not any(secret in str(line) for line in log_lines())


async def test_a_manifest_may_be_larger_than_other_bodies(api):
    """A chain's manifest is megabytes: its routes take up to PORTICO_MAX_MANIFEST_BYTES (16 MiB),
    while every other route keeps PORTICO_MAX_BODY_BYTES (1 MiB)."""
    padding = " " * 1_200_000  # JSON's own whitespace: the same document, 1.2 MB on the wire
    headers = {"Content-Type": "application/json"}
    body = json.dumps(manifest(2)) + padding
    planned = await api.post("/v1/portal-manifests/plan", content=body, headers=headers)
    assert planned.status_code == 200, planned.text
    small = json.dumps({"name": "tt_big"}) + padding
    elsewhere = await api.post("/v1/instances", content=small, headers=headers)
    assert_problem(elsewhere, 413, "payload-too-large")
    too_big = await api.post("/v1/portal-manifests/plan", content=body + " " * 16_000_000, headers=headers)
    assert_problem(too_big, 413, "payload-too-large")
