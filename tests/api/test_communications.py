"""/v1/instances/{name}/communications: the general switch, invariant 2."""

from tests.conftest import add_member, assert_problem, create_instance, create_portal


async def test_defaults_on_and_switch_off(api):
    await create_instance(api, "tt_c")
    got = await api.get("/v1/instances/tt_c/communications")
    assert got.json() == {"enabled": True, "sms": True, "voice": True, "email": True}
    response = await api.put("/v1/instances/tt_c/communications", json={"enabled": False})
    assert response.json() == {"enabled": False, "sms": True, "voice": True, "email": True}
    assert response.headers["etag"] != got.headers["etag"]


async def test_channels_are_optional_and_kept(api):
    await create_instance(api, "tt_c")
    await api.put("/v1/instances/tt_c/communications", json={"enabled": True, "sms": False})
    response = await api.put("/v1/instances/tt_c/communications", json={"enabled": True, "email": False})
    assert response.json() == {"enabled": True, "sms": False, "voice": True, "email": False}


async def test_invalid_bodies_are_422(api):
    await create_instance(api, "tt_c")
    url = "/v1/instances/tt_c/communications"
    assert_problem(await api.put(url, json={}), 422, "validation-error")
    assert_problem(await api.put(url, json={"enabled": "maybe"}), 422, "validation-error")
    assert_problem(await api.put(url, json={"enabled": False, "fax": True}), 422, "validation-error")
    assert (await api.get(url)).json()["enabled"] is True


async def test_if_match(api):
    await create_instance(api, "tt_c")
    etag = (await api.get("/v1/instances/tt_c/communications")).headers["etag"]
    await api.put("/v1/instances/tt_c/communications", json={"enabled": False})
    stale = await api.put(
        "/v1/instances/tt_c/communications", json={"enabled": True}, headers={"If-Match": etag}
    )
    assert_problem(stale, 412, "precondition-failed")
    assert (await api.get("/v1/instances/tt_c/communications")).json()["enabled"] is False


async def test_invariant_2_portal_with_members_stays_silent(api):
    await create_portal(api, "tt_portal")
    await add_member(api, "tt_portal", "tt_m1")
    response = await api.put("/v1/instances/tt_portal/communications", json={"enabled": True})
    body = assert_problem(response, 409, "portal-has-members")
    assert body["member_count"] == 1
    assert (await api.get("/v1/instances/tt_portal/communications")).json()["enabled"] is False
    # Channels under a switched-off general switch may still change.
    ok = await api.put("/v1/instances/tt_portal/communications", json={"enabled": False, "sms": False})
    assert ok.status_code == 200


async def test_portal_without_members_may_switch_on_and_becomes_not_ready(api):
    await create_portal(api, "tt_portal")
    assert (
        await api.put("/v1/instances/tt_portal/communications", json={"enabled": True})
    ).status_code == 200
    portal = (await api.get("/v1/portals/tt_portal")).json()
    assert portal["ready"] is False
