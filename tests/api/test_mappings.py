"""/v1/portals/{portal}/members/{member}/mappings and mapping-suggestions: invariants 4, 5 and 6."""

from tests.conftest import add_member, assert_problem, create_instance, create_portal

URL = "/v1/portals/tt_portal/members/tt_m1/mappings"


async def _service(api, instance, code, name, web=False):
    body = {"code": code, "name": name, "duration_minutes": 30, "web_enabled": web}
    response = await api.post(f"/v1/instances/{instance}/services", json=body)
    assert response.status_code == 201, response.text


async def _setup(api):
    await create_portal(api, "tt_portal")
    await add_member(api, "tt_portal", "tt_m1")
    for code, name in [("LIMP", "Limpieza dental"), ("REV", "Revisión"), ("ORT", "Ortodoncia")]:
        await _service(api, "tt_portal", code, name)
    for code, name in [("L1", "Limpieza"), ("R1", "Revision periodica"), ("X1", "Blanqueamiento")]:
        await _service(api, "tt_m1", code, name, web=True)


async def test_create_get_list_delete(api):
    await _setup(api)
    response = await api.post(URL, json={"member_service": "L1", "portal_service": "LIMP"})
    assert response.status_code == 201
    assert response.headers["location"] == f"{URL}/L1"
    body = response.json()
    assert (body["member_service"], body["portal_service"], body["portal_service_name"]) == (
        "L1",
        "LIMP",
        "Limpieza dental",
    )
    same = await api.post(URL, json={"member_service": "L1", "portal_service": "LIMP"})
    assert same.status_code == 200
    assert (await api.get(f"{URL}/L1")).json() == body
    await api.post(URL, json={"member_service": "R1", "portal_service": "REV"})
    listed = (await api.get(URL)).json()
    assert [(m["member_service"], m["portal_service"]) for m in listed["items"]] == [
        ("L1", "LIMP"),
        ("R1", "REV"),
    ]
    service = (await api.get("/v1/instances/tt_m1/services/L1")).json()
    assert service["mapped_to"] == "LIMP"
    mapped = await api.get("/v1/instances/tt_portal/services", params={"mapped": True})
    assert [s["code"] for s in mapped.json()["items"]] == ["LIMP", "REV"]
    assert (await api.delete(f"{URL}/L1")).json() == {"member_service": "L1", "deleted": True}
    assert_problem(await api.get(f"{URL}/L1"), 404, "not-found")
    assert_problem(await api.delete(f"{URL}/L1"), 404, "not-found")


async def test_invariant_5_second_target_is_409_naming_the_first(api):
    await _setup(api)
    await api.post(URL, json={"member_service": "L1", "portal_service": "LIMP"})
    response = await api.post(URL, json={"member_service": "L1", "portal_service": "REV"})
    body = assert_problem(response, 409, "already-mapped")
    assert body["existing_portal_service"] == "LIMP"
    assert "LIMP" in body["detail"]
    assert (await api.get(f"{URL}/L1")).json()["portal_service"] == "LIMP"
    # PUT on the member service's mapping replaces the target explicitly.
    replaced = await api.put(f"{URL}/L1", json={"portal_service": "REV"})
    assert replaced.status_code == 200
    assert replaced.json()["portal_service"] == "REV"
    created = await api.put(f"{URL}/R1", json={"portal_service": "REV"})
    assert created.status_code == 201
    # Many member services may share one portal service.
    assert len((await api.get(URL)).json()["items"]) == 2


async def test_invariant_4_services_must_belong_to_member_and_portal(api):
    await _setup(api)
    await create_instance(api, "tt_outsider")
    await _service(api, "tt_outsider", "OUT", "Outside")
    wrong_member = await api.post(URL, json={"member_service": "LIMP", "portal_service": "LIMP"})
    body = assert_problem(wrong_member, 422, "validation-error")
    assert body["errors"] == [{"field": "body.member_service", "message": "tt_m1 has no service LIMP"}]
    wrong_target = await api.post(URL, json={"member_service": "L1", "portal_service": "L1"})
    body = assert_problem(wrong_target, 422, "validation-error")
    assert body["errors"][0]["field"] == "body.portal_service"
    assert_problem(
        await api.post(URL, json={"member_service": "L1", "portal_service": "OUT"}), 422, "validation-error"
    )
    # Only members of this portal have mappings here.
    outsider = "/v1/portals/tt_portal/members/tt_outsider/mappings"
    assert_problem(
        await api.post(outsider, json={"member_service": "OUT", "portal_service": "LIMP"}), 404, "not-found"
    )
    assert_problem(await api.get("/v1/portals/tt_m1/members/tt_m1/mappings"), 404, "not-found")
    assert_problem(await api.put(f"{URL}/NOPE", json={"portal_service": "LIMP"}), 404, "not-found")
    assert_problem(await api.put(f"{URL}/L1", json={"portal_service": "NOPE"}), 422, "validation-error")
    assert (await api.get(URL)).json()["items"] == []


async def test_replace_the_whole_set_atomically(api):
    await _setup(api)
    await api.post(URL, json={"member_service": "L1", "portal_service": "LIMP"})
    await api.post(URL, json={"member_service": "X1", "portal_service": "ORT"})
    response = await api.put(
        URL,
        json=[
            {"member_service": "L1", "portal_service": "LIMP"},
            {"member_service": "R1", "portal_service": "REV"},
        ],
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["added"], body["retargeted"], body["removed"], body["unchanged"]) == (1, 0, 1, 1)
    assert [(m["member_service"], m["portal_service"]) for m in body["items"]] == [
        ("L1", "LIMP"),
        ("R1", "REV"),
    ]
    bad = await api.put(
        URL,
        json=[
            {"member_service": "L1", "portal_service": "REV"},
            {"member_service": "NOPE", "portal_service": "LIMP"},
            {"member_service": "R1", "portal_service": "NOPE"},
            {"member_service": "L1", "portal_service": "ORT"},
        ],
    )
    problem = assert_problem(bad, 422, "validation-error")
    assert [e["field"] for e in problem["errors"]] == [
        "body.1.member_service",
        "body.2.portal_service",
        "body.3.member_service",
    ]
    after = (await api.get(URL)).json()["items"]
    assert [(m["member_service"], m["portal_service"]) for m in after] == [("L1", "LIMP"), ("R1", "REV")]
    emptied = await api.put(URL, json=[])
    assert emptied.json()["removed"] == 2
    assert (await api.get(URL)).json()["items"] == []


async def test_invariant_6(api):
    await _setup(api)
    await api.post(URL, json={"member_service": "L1", "portal_service": "LIMP"})
    await api.post(URL, json={"member_service": "R1", "portal_service": "LIMP"})
    # A mapped portal service.
    body = assert_problem(await api.delete("/v1/instances/tt_portal/services/LIMP"), 409, "service-mapped")
    assert body["mapping_count"] == 2
    # A mapped member service.
    assert_problem(await api.delete("/v1/instances/tt_m1/services/L1"), 409, "service-mapped")
    # A member with mappings; a portal with members; the member instance itself.
    body = assert_problem(await api.delete("/v1/portals/tt_portal/members/tt_m1"), 409, "member-has-mappings")
    assert body["mapping_count"] == 2
    assert_problem(await api.delete("/v1/portals/tt_portal"), 409, "portal-has-members")
    assert_problem(await api.delete("/v1/instances/tt_m1"), 409, "member-has-mappings")
    assert len((await api.get(URL)).json()["items"]) == 2
    # cascade=true removes, and says what.
    removed = await api.delete("/v1/instances/tt_m1/services/L1", params={"cascade": True})
    assert removed.json() == {"code": "L1", "deleted": True, "removed_mappings": 1}
    removed = await api.delete("/v1/portals/tt_portal/members/tt_m1", params={"cascade": True})
    assert removed.json()["removed_mappings"] == 1
    assert (await api.get("/v1/instances/tt_m1")).json()["kind"] == "standalone"


async def test_demote_and_delete_portal_with_cascade_remove_mappings(api):
    await _setup(api)
    await api.post(URL, json={"member_service": "L1", "portal_service": "LIMP"})
    demoted = await api.delete("/v1/portals/tt_portal", params={"cascade": True})
    assert demoted.json()["detached_members"] == ["tt_m1"]
    assert demoted.json()["removed_mappings"] == 1
    assert (await api.get("/v1/instances/tt_m1/services/L1")).json()["mapped_to"] is None
    await create_portal(api, "tt_p2")
    await api.post("/v1/portals/tt_p2/members", json={"instance": "tt_m1"})
    await _service(api, "tt_p2", "LIMP", "Limpieza")
    await api.post(
        "/v1/portals/tt_p2/members/tt_m1/mappings", json={"member_service": "L1", "portal_service": "LIMP"}
    )
    deleted = await api.delete("/v1/instances/tt_p2", params={"cascade": True})
    assert deleted.json()["removed_mappings"] == 1
    assert deleted.json()["detached_members"] == ["tt_m1"]


async def test_suggestions(api):
    await _setup(api)
    await api.post(URL, json={"member_service": "X1", "portal_service": "ORT"})
    response = await api.get("/v1/portals/tt_portal/members/tt_m1/mapping-suggestions")
    assert response.status_code == 200
    items = {i["member_service"]: i["suggestions"] for i in response.json()["items"]}
    assert set(items) == {"L1", "R1"}  # X1 is mapped
    assert items["L1"][0]["portal_service"] == "LIMP"
    assert items["L1"][0]["score"] >= 90
    # Accent- and case-insensitive: "Revision periodica" finds "Revisión".
    assert items["R1"][0]["portal_service"] == "REV"
    strict = await api.get(
        "/v1/portals/tt_portal/members/tt_m1/mapping-suggestions", params={"min_score": 100}
    )
    assert all(s["score"] == 100 for i in strict.json()["items"] for s in i["suggestions"])
    bad = await api.get("/v1/portals/tt_portal/members/tt_m1/mapping-suggestions", params={"limit": 0})
    assert_problem(bad, 422, "validation-error")


async def test_if_match_on_one_mapping(api):
    await _setup(api)
    created = await api.put(f"{URL}/L1", json={"portal_service": "LIMP"})
    etag = created.headers["etag"]
    assert (await api.get(f"{URL}/L1")).headers["etag"] == etag
    moved = await api.put(f"{URL}/L1", json={"portal_service": "REV"}, headers={"If-Match": etag})
    assert moved.status_code == 200
    assert moved.headers["etag"] != etag
    stale = await api.put(f"{URL}/L1", json={"portal_service": "ORT"}, headers={"If-Match": etag})
    assert_problem(stale, 412, "precondition-failed")
    assert_problem(await api.delete(f"{URL}/L1", headers={"If-Match": etag}), 412, "precondition-failed")
    assert (await api.get(f"{URL}/L1")).json()["portal_service"] == "REV"
    # If-Match: * on an unmapped service: nothing to match.
    assert_problem(
        await api.put(f"{URL}/R1", json={"portal_service": "REV"}, headers={"If-Match": "*"}),
        412,
        "precondition-failed",
    )
