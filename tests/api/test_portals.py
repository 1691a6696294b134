"""/v1/portals and /v1/portals/{portal}/members: promotion, readiness, invariants 1, 3 and 6."""

from tests.conftest import add_member, assert_problem, create_instance, create_portal


class TestPortals:
    async def test_promote_in_one_step(self, api):
        await create_instance(api, "tt_portal", display_name="Portal Sanitas")
        response = await api.post("/v1/portals", json={"instance": "tt_portal"})
        assert response.status_code == 201
        assert response.headers["location"] == "/v1/portals/tt_portal"
        assert response.json() == {
            "name": "tt_portal",
            "display_name": "Portal Sanitas",
            "ready": True,
            "unmet_requirements": [],
            "member_count": 0,
        }
        settings = (await api.get("/v1/instances/tt_portal/settings")).json()
        assert settings == {"portalInstanceName": "portal"}
        assert (await api.get("/v1/instances/tt_portal/communications")).json()["enabled"] is False
        # Promoting a ready portal again changes nothing.
        again = await api.post("/v1/portals", json={"instance": "tt_portal"})
        assert again.status_code == 200 and again.json()["ready"] is True

    async def test_promote_refuses_members_and_unknowns(self, api):
        await create_portal(api, "tt_portal")
        await add_member(api, "tt_portal", "tt_m1")
        assert_problem(
            await api.post("/v1/portals", json={"instance": "tt_m1"}), 409, "member-cannot-be-portal"
        )
        assert (await api.get("/v1/instances/tt_m1/settings")).json() == {}
        assert_problem(await api.post("/v1/portals", json={"instance": "tt_nobody"}), 404, "not-found")
        assert_problem(await api.post("/v1/portals", json={"instance": "nope"}), 404, "not-found")  # tt_nope
        assert_problem(await api.post("/v1/portals", json={"instance": "No pe"}), 422, "validation-error")
        assert_problem(await api.post("/v1/portals", json={}), 422, "validation-error")

    async def test_list_and_get(self, api):
        await create_portal(api, "tt_b_portal")
        await create_portal(api, "tt_a_portal")
        await add_member(api, "tt_a_portal", "tt_m1")
        await add_member(api, "tt_a_portal", "tt_m2")
        await create_instance(api, "tt_alone")
        page = (await api.get("/v1/portals")).json()
        assert [(p["name"], p["member_count"]) for p in page["items"]] == [
            ("tt_a_portal", 2),
            ("tt_b_portal", 0),
        ]
        first = await api.get("/v1/portals", params={"limit": 1})
        assert [p["name"] for p in first.json()["items"]] == ["tt_a_portal"]
        rest = await api.get("/v1/portals", params={"limit": 1, "cursor": first.json()["next_cursor"]})
        assert [p["name"] for p in rest.json()["items"]] == ["tt_b_portal"] and rest.json()[
            "next_cursor"
        ] is None
        one = await api.get("/v1/portals/tt_a_portal")
        assert one.json()["member_count"] == 2 and one.headers["etag"]
        assert_problem(await api.get("/v1/portals/tt_alone"), 404, "not-found")
        assert_problem(await api.get("/v1/portals/tt_m1"), 404, "not-found")

    async def test_demote(self, api):
        await create_portal(api, "tt_portal")
        response = await api.delete("/v1/portals/tt_portal")
        assert response.status_code == 200
        assert response.json() == {
            "name": "tt_portal",
            "demoted": True,
            "detached_members": [],
            "removed_mappings": 0,
        }
        assert (await api.get("/v1/instances/tt_portal")).json()["kind"] == "standalone"
        assert_problem(await api.delete("/v1/portals/tt_portal"), 404, "not-found")

    async def test_invariant_6_demoting_with_members_needs_cascade(self, api):
        await create_portal(api, "tt_portal")
        await add_member(api, "tt_portal", "tt_m1")
        await add_member(api, "tt_portal", "tt_m2")
        body = assert_problem(await api.delete("/v1/portals/tt_portal"), 409, "portal-has-members")
        assert body["member_count"] == 2 and "cascade=true" in body["detail"]
        assert (await api.get("/v1/portals/tt_portal")).json()["member_count"] == 2
        response = await api.delete("/v1/portals/tt_portal", params={"cascade": True})
        assert response.json()["detached_members"] == ["tt_m1", "tt_m2"]
        assert (await api.get("/v1/instances/tt_m1")).json()["kind"] == "standalone"


class TestMembers:
    async def test_add_list_get_remove(self, api):
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
        assert [m["name"] for m in listed["items"]] == ["tt_m1", "tt_m2"] and listed["next_cursor"] is None
        paged = await api.get("/v1/portals/tt_portal/members", params={"limit": 1})
        assert paged.json()["next_cursor"] and 'rel="next"' in paged.headers["link"]
        assert (await api.get("/v1/portals/tt_portal/members/tt_m1")).json() == member
        removed = await api.delete("/v1/portals/tt_portal/members/tt_m1")
        assert removed.status_code == 200 and removed.json()["removed"] is True
        assert_problem(await api.get("/v1/portals/tt_portal/members/tt_m1"), 404, "not-found")
        assert (await api.get("/v1/instances/tt_m1")).json()["kind"] == "standalone"
        assert_problem(await api.delete("/v1/portals/tt_portal/members/tt_m1"), 404, "not-found")

    async def test_invariant_1_not_ready_lists_every_unmet_requirement(self, api):
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
        assert (
            await api.post("/v1/portals/tt_portal/members", json={"instance": "tt_m1"})
        ).status_code == 201

    async def test_invariant_3(self, api):
        await create_portal(api, "tt_p1")
        await create_portal(api, "tt_p2")
        await add_member(api, "tt_p1", "tt_m1")
        body = assert_problem(
            await api.post("/v1/portals/tt_p2/members", json={"instance": "tt_m1"}), 409, "already-member"
        )
        assert body["portal"] == "tt_p1" and "tt_p1" in body["detail"]
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

    async def test_unknown_member_or_portal(self, api):
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
