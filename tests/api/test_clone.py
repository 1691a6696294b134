"""POST /v1/instances/{name}/clone: from a model, optionally into the model's portal."""

from tests.conftest import add_member, assert_problem, create_instance, create_portal


async def _model(api):
    await create_portal(api, "tt_portal")
    await add_member(api, "tt_portal", "tt_model")
    await api.put("/v1/instances/tt_model/settings/timezone", json={"value": "Europe/Madrid"})
    await api.put("/v1/instances/tt_model/communications", json={"enabled": True, "sms": False})
    for code, instance in [
        ("LIMP", "tt_portal"),
        ("REV", "tt_portal"),
        ("L1", "tt_model"),
        ("R1", "tt_model"),
    ]:
        body = {"code": code, "name": code, "duration_minutes": 30, "price": "10", "web_enabled": True}
        assert (await api.post(f"/v1/instances/{instance}/services", json=body)).status_code == 201
    url = "/v1/portals/tt_portal/members/tt_model/mappings"
    await api.post(url, json={"member_service": "L1", "portal_service": "LIMP"})
    await api.post(url, json={"member_service": "R1", "portal_service": "REV"})


async def test_clone_copies_settings_communications_services(api):
    await _model(api)
    response = await api.post("/v1/instances/tt_model/clone", json={"name": "tt_copy", "member_code": "S-2"})
    assert response.status_code == 201
    assert response.headers["location"] == "/v1/instances/tt_copy"
    body = response.json()
    assert body["copied"] == {
        "settings": ["timezone"],
        "communications": True,
        "services": 2,
        "mappings": 0,
        "gesdent": False,
        "gesdent_credentials": False,
    }
    assert body["portal"] is None
    instance = body["instance"]
    assert (instance["name"], instance["cloned_from"], instance["member_code"], instance["kind"]) == (
        "tt_copy",
        "tt_model",
        "S-2",
        "standalone",
    )
    assert (await api.get("/v1/instances/tt_copy/settings")).json() == {"timezone": "Europe/Madrid"}
    comms = (await api.get("/v1/instances/tt_copy/communications")).json()
    assert comms == {"enabled": True, "sms": False, "voice": True, "email": True}
    services = (await api.get("/v1/instances/tt_copy/services")).json()["items"]
    assert [(s["code"], s["price"], s["web_enabled"], s["mapped_to"]) for s in services] == [
        ("L1", "10.00", True, None),
        ("R1", "10.00", True, None),
    ]


async def test_clone_never_copies_portal_instance_name(api):
    await _model(api)
    response = await api.post("/v1/instances/tt_portal/clone", json={"name": "tt_portal_copy"})
    assert response.json()["instance"]["kind"] == "standalone"
    assert "portalInstanceName" not in (await api.get("/v1/instances/tt_portal_copy/settings")).json()


async def test_clone_into_the_portal_copies_mappings_by_code(api):
    await _model(api)
    body = {"name": "tt_new_centre", "display_name": "New centre", "join_portal": True}
    response = await api.post("/v1/instances/tt_model/clone", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["portal"] == "tt_portal"
    assert response.json()["copied"]["mappings"] == 2
    assert response.json()["instance"]["kind"] == "member"
    mappings = (await api.get("/v1/portals/tt_portal/members/tt_new_centre/mappings")).json()["items"]
    assert [(m["member_service"], m["portal_service"]) for m in mappings] == [("L1", "LIMP"), ("R1", "REV")]


async def test_include_selects_what_is_copied(api):
    await _model(api)
    response = await api.post(
        "/v1/instances/tt_model/clone", json={"name": "tt_bare", "include": ["settings"]}
    )
    assert response.json()["copied"] == {
        "settings": ["timezone"],
        "communications": False,
        "services": 0,
        "mappings": 0,
        "gesdent": False,
        "gesdent_credentials": False,
    }
    assert (await api.get("/v1/instances/tt_bare/services")).json()["items"] == []
    assert (await api.get("/v1/instances/tt_bare/communications")).json()["enabled"] is True


async def test_clone_errors_leave_nothing_behind(api, make_client):
    await _model(api)
    await create_instance(api, "tt_alone")
    assert_problem(
        await api.post("/v1/instances/tt_model/clone", json={"name": "tt_portal"}), 409, "name-taken"
    )
    joined = await api.post("/v1/instances/tt_alone/clone", json={"name": "tt_x", "join_portal": True})
    assert_problem(joined, 409, "source-not-member")
    # The failed clone left nothing behind: the name is free.
    assert (await api.get("/v1/instances/tt_x")).status_code == 404
    bad = await api.post(
        "/v1/instances/tt_model/clone", json={"name": "Bad", "include": ["gold"], "extra": 1}
    )
    assert len(assert_problem(bad, 422, "validation-error")["errors"]) == 3
    assert_problem(await api.post("/v1/instances/tt_nope/clone", json={"name": "tt_y"}), 404, "not-found")
    no_portals = await make_client(scopes=["instances:read", "instances:write"], partner_id=api.partner_id)
    denied = await no_portals.post("/v1/instances/tt_model/clone", json={"name": "tt_z", "join_portal": True})
    assert_problem(denied, 403, "missing-scope")
