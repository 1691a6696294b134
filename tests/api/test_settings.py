"""/v1/instances/{name}/settings: the map, JSON merge patch, one key; invariants 2 and 3."""

from tests.conftest import add_member, assert_problem, create_instance, create_portal

MERGE = {"content-type": "application/merge-patch+json"}


async def test_put_get_delete_one_setting(api):
    await create_instance(api, "tt_s")
    created = await api.put("/v1/instances/tt_s/settings/timezone", json={"value": "Europe/Madrid"})
    assert created.status_code == 201
    assert created.headers["location"] == "/v1/instances/tt_s/settings/timezone"
    assert created.json() == {"key": "timezone", "value": "Europe/Madrid"}
    replaced = await api.put("/v1/instances/tt_s/settings/timezone", json={"value": "Atlantic/Canary"})
    assert replaced.status_code == 200
    got = await api.get("/v1/instances/tt_s/settings/timezone")
    assert got.json()["value"] == "Atlantic/Canary"
    assert got.headers["etag"] == replaced.headers["etag"]
    assert (await api.delete("/v1/instances/tt_s/settings/timezone")).status_code == 204
    assert_problem(await api.get("/v1/instances/tt_s/settings/timezone"), 404, "not-found")
    assert_problem(await api.delete("/v1/instances/tt_s/settings/timezone"), 404, "not-found")


async def test_procedure_step_portal_instance_name(api):
    await create_instance(api, "tt_portal")
    response = await api.put("/v1/instances/tt_portal/settings/portalInstanceName", json={"value": "portal"})
    assert response.status_code == 201
    instance = (await api.get("/v1/instances/tt_portal")).json()
    assert instance["kind"] == "portal"
    # Communications still on: allowed, but the portal is not ready.
    portal = (await api.get("/v1/portals/tt_portal")).json()
    assert portal["ready"] is False
    assert [r["code"] for r in portal["unmet_requirements"]] == ["communications-enabled"]


async def test_merge_patch_sets_and_removes(api):
    await create_instance(api, "tt_m")
    await api.put("/v1/instances/tt_m/settings/a", json={"value": "1"})
    response = await api.patch(
        "/v1/instances/tt_m/settings", json={"a": None, "b": "2", "c": "multi\nline"}, headers=MERGE
    )
    assert response.status_code == 200
    assert response.json() == {"b": "2", "c": "multi\nline"}
    got = await api.get("/v1/instances/tt_m/settings")
    assert got.json() == {"b": "2", "c": "multi\nline"}
    assert got.headers["etag"] == response.headers["etag"]
    # Plain application/json is accepted too; removing an absent key is a no-op.
    again = await api.patch("/v1/instances/tt_m/settings", json={"zzz": None})
    assert again.status_code == 200
    assert again.json() == {"b": "2", "c": "multi\nline"}


async def test_merge_patch_is_atomic_and_validates_every_key(api):
    await create_instance(api, "tt_v")
    response = await api.patch(
        "/v1/instances/tt_v/settings", json={"ok": "1", "bad key": "x", "n": 5, "nul": "a\x00"}, headers=MERGE
    )
    body = assert_problem(response, 422, "validation-error")
    assert len(body["errors"]) >= 3
    assert (await api.get("/v1/instances/tt_v/settings")).json() == {}
    assert_problem(
        await api.patch("/v1/instances/tt_v/settings", json=["x"], headers=MERGE), 422, "validation-error"
    )
    assert_problem(
        await api.put("/v1/instances/tt_v/settings/k", json={"value": "x" * 2001}), 422, "validation-error"
    )
    assert_problem(
        await api.put("/v1/instances/tt_v/settings/k", json={"value": "1", "x": 1}), 422, "validation-error"
    )
    assert_problem(
        await api.put("/v1/instances/tt_v/settings/bad%20key", json={"value": "1"}), 422, "validation-error"
    )


async def test_if_match_on_map_and_key(api):
    await create_instance(api, "tt_e")
    first = await api.put("/v1/instances/tt_e/settings/k", json={"value": "1"})
    stale = first.headers["etag"]
    await api.put("/v1/instances/tt_e/settings/k", json={"value": "2"})
    response = await api.put(
        "/v1/instances/tt_e/settings/k", json={"value": "3"}, headers={"If-Match": stale}
    )
    assert_problem(response, 412, "precondition-failed")
    assert_problem(
        await api.delete("/v1/instances/tt_e/settings/k", headers={"If-Match": stale}),
        412,
        "precondition-failed",
    )
    map_etag = (await api.get("/v1/instances/tt_e/settings")).headers["etag"]
    ok = await api.patch(
        "/v1/instances/tt_e/settings", json={"j": "1"}, headers={**MERGE, "If-Match": map_etag}
    )
    assert ok.status_code == 200
    late = await api.patch(
        "/v1/instances/tt_e/settings", json={"j": "2"}, headers={**MERGE, "If-Match": map_etag}
    )
    assert_problem(late, 412, "precondition-failed")
    assert (await api.get("/v1/instances/tt_e/settings")).json() == {"j": "1", "k": "2"}
    # If-Match: * on a key that does not exist yet fails: there is nothing to match.
    missing = await api.put("/v1/instances/tt_e/settings/new", json={"value": "1"}, headers={"If-Match": "*"})
    assert_problem(missing, 412, "precondition-failed")


async def test_invariant_2_portal_with_members_keeps_its_name(api):
    await create_portal(api, "tt_portal")
    await add_member(api, "tt_portal", "tt_m1")
    url = "/v1/instances/tt_portal/settings/portalInstanceName"
    assert_problem(await api.put(url, json={"value": "other"}), 409, "portal-has-members")
    assert_problem(await api.delete(url), 409, "portal-has-members")
    patch = await api.patch(
        "/v1/instances/tt_portal/settings", json={"portalInstanceName": None, "x": "1"}, headers=MERGE
    )
    assert_problem(patch, 409, "portal-has-members")
    assert (await api.get("/v1/instances/tt_portal/settings")).json() == {"portalInstanceName": "portal"}
    # Setting the same value again is no change.
    assert (await api.put(url, json={"value": "portal"})).status_code == 200


async def test_invariant_3_member_cannot_become_portal(api):
    await create_portal(api, "tt_portal")
    await add_member(api, "tt_portal", "tt_m1")
    response = await api.put("/v1/instances/tt_m1/settings/portalInstanceName", json={"value": "portal"})
    body = assert_problem(response, 409, "member-cannot-be-portal")
    assert "tt_portal" in body["detail"]
    assert (await api.get("/v1/instances/tt_m1")).json()["kind"] == "member"


async def test_settings_of_unknown_instance_are_404(api):
    assert_problem(await api.get("/v1/instances/tt_nope/settings"), 404, "not-found")
    assert_problem(await api.put("/v1/instances/tt_nope/settings/k", json={"value": "1"}), 404, "not-found")
    assert_problem(
        await api.patch("/v1/instances/tt_nope/settings", json={"k": "1"}, headers=MERGE), 404, "not-found"
    )
