"""/v1/portals/{portal}/members: attach, list, read, detach (invariants 1 and 3)."""

from tests.conftest import add_member, assert_problem, create_instance, create_portal


async def test_add_list_get_remove(api):
    await create_portal(api, "tt_portal")
    await create_instance(api, "tt_m1", display_name="Clínica 1", member_code="S-1")
    response = await api.post("/v1/portals/tt_portal/members", json={"instance": "tt_m1"})
    assert response.status_code == 201
    assert response.headers["location"] == "/v1/portals/tt_portal/members/tt_m1"
    member = response.json()
    assert (member["portal"], member["name"], member["display_name"], member["member_code"]) == (
        "tt_portal",
        "tt_m1",
        "Clínica 1",
        "S-1",
    )
    assert member["joined_at"].endswith("Z")
    await add_member(api, "tt_portal", "tt_m2")
    listed = (await api.get("/v1/portals/tt_portal/members")).json()
    assert [m["name"] for m in listed["items"]] == ["tt_m1", "tt_m2"]
    assert listed["next_cursor"] is None
    paged = await api.get("/v1/portals/tt_portal/members", params={"limit": 1})
    assert paged.json()["next_cursor"]
    assert 'rel="next"' in paged.headers["link"]
    assert (await api.get("/v1/portals/tt_portal/members/tt_m1")).json() == member
    removed = await api.delete("/v1/portals/tt_portal/members/tt_m1")
    assert removed.status_code == 200
    assert removed.json()["removed"] is True
    assert_problem(await api.get("/v1/portals/tt_portal/members/tt_m1"), 404, "not-found")
    assert (await api.get("/v1/instances/tt_m1")).json()["kind"] == "standalone"
    assert_problem(await api.delete("/v1/portals/tt_portal/members/tt_m1"), 404, "not-found")


async def test_invariant_1_not_ready_lists_every_unmet_requirement(api):
    await create_instance(api, "tt_portal")
    await create_instance(api, "tt_m1")
    response = await api.post("/v1/portals/tt_portal/members", json={"instance": "tt_m1"})
    body = assert_problem(response, 409, "portal-not-ready")
    assert [r["code"] for r in body["unmet_requirements"]] == [
        "portal-instance-name",
        "communications-enabled",
    ]
    await api.put("/v1/instances/tt_portal/settings/portalInstanceName", json={"value": "portal"})
    response = await api.post("/v1/portals/tt_portal/members", json={"instance": "tt_m1"})
    body = assert_problem(response, 409, "portal-not-ready")
    assert [r["code"] for r in body["unmet_requirements"]] == ["communications-enabled"]
    await api.put("/v1/instances/tt_portal/communications", json={"enabled": False})
    assert (await api.post("/v1/portals/tt_portal/members", json={"instance": "tt_m1"})).status_code == 201


async def test_invariant_3(api):
    await create_portal(api, "tt_p1")
    await create_portal(api, "tt_p2")
    await add_member(api, "tt_p1", "tt_m1")
    body = assert_problem(
        await api.post("/v1/portals/tt_p2/members", json={"instance": "tt_m1"}), 409, "already-member"
    )
    assert body["portal"] == "tt_p1"
    assert "tt_p1" in body["detail"]
    assert_problem(
        await api.post("/v1/portals/tt_p1/members", json={"instance": "tt_m1"}), 409, "already-member"
    )
    assert_problem(
        await api.post("/v1/portals/tt_p1/members", json={"instance": "tt_p2"}),
        409,
        "portal-cannot-be-member",
    )
    assert_problem(
        await api.post("/v1/portals/tt_p1/members", json={"instance": "tt_p1"}), 409, "self-membership"
    )
    # A member cannot take members of its own.
    await create_instance(api, "tt_x")
    assert_problem(
        await api.post("/v1/portals/tt_m1/members", json={"instance": "tt_x"}), 409, "portal-not-ready"
    )
    assert (await api.get("/v1/instances/tt_m1")).json()["portal"] == "tt_p1"


async def test_unknown_member_or_portal(api):
    await create_portal(api, "tt_portal")
    assert_problem(
        await api.post("/v1/portals/tt_portal/members", json={"instance": "tt_ghost"}), 404, "not-found"
    )
    await create_instance(api, "tt_m1")
    assert_problem(
        await api.post("/v1/portals/tt_ghost/members", json={"instance": "tt_m1"}), 404, "not-found"
    )
    assert_problem(await api.get("/v1/portals/tt_ghost/members"), 404, "not-found")
    assert_problem(await api.get("/v1/portals/tt_portal/members/tt_m1"), 404, "not-found")
    bad = await api.post("/v1/portals/tt_portal/members", json={"instance": "tt_m1", "role": "x"})
    assert_problem(bad, 422, "validation-error")
