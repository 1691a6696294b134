"""/v1/portals: promotion, readiness, demotion (invariants 3 and 6). Members: tests/api/test_members.py."""

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
        assert again.status_code == 200
        assert again.json()["ready"] is True

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
        assert [p["name"] for p in rest.json()["items"]] == ["tt_b_portal"]
        assert rest.json()["next_cursor"] is None
        one = await api.get("/v1/portals/tt_a_portal")
        assert one.json()["member_count"] == 2
        assert one.headers["etag"]
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
        assert body["member_count"] == 2
        assert "cascade=true" in body["detail"]
        assert (await api.get("/v1/portals/tt_portal")).json()["member_count"] == 2
        response = await api.delete("/v1/portals/tt_portal", params={"cascade": True})
        assert response.json()["detached_members"] == ["tt_m1", "tt_m2"]
        assert (await api.get("/v1/instances/tt_m1")).json()["kind"] == "standalone"
