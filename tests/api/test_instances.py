"""/v1/instances: create, list (kind, q, pagination), get, patch (ETag), delete."""

from tests.conftest import add_member, assert_problem, create_instance, create_portal


class TestCreate:
    async def test_created_with_location_and_etag(self, api):
        response = await api.post(
            "/v1/instances", json={"name": "tt_clinic_1", "display_name": "Clínica Uno"}
        )
        assert response.status_code == 201
        assert response.headers["location"] == "/v1/instances/tt_clinic_1"
        assert response.headers["etag"]
        body = response.json()
        assert body["name"] == "tt_clinic_1"
        assert body["display_name"] == "Clínica Uno"
        assert body["kind"] == "standalone"
        assert body["portal"] is None
        assert body["version"] == 1
        assert body["created_at"].endswith("Z")

    async def test_display_name_defaults_to_name(self, api):
        assert (await create_instance(api, "tt_plain"))["display_name"] == "tt_plain"

    async def test_duplicate_name_is_409(self, api, other):
        await create_instance(api, "tt_dup")
        assert_problem(await api.post("/v1/instances", json={"name": "tt_dup"}), 409, "name-taken")
        # Names are database names, unique on the whole platform.
        assert_problem(await other.post("/v1/instances", json={"name": "tt_dup"}), 409, "name-taken")

    async def test_every_invalid_field_is_listed(self, api):
        response = await api.post(
            "/v1/instances",
            json={"name": "Bad Name", "display_name": "", "member_code": "x" * 65, "colour": "red"},
        )
        body = assert_problem(response, 422, "validation-error")
        fields = {e["field"] for e in body["errors"]}
        assert fields == {"body.name", "body.display_name", "body.member_code", "body.colour"}

    async def test_nul_bytes_and_control_characters_are_422(self, api):
        for display_name in ["a\x00b", "line\nbreak"]:
            response = await api.post("/v1/instances", json={"name": "tt_nul", "display_name": display_name})
            assert_problem(response, 422, "validation-error")
        # A lone surrogate is valid JSON but not storable text.
        raw = b'{"name": "tt_nul", "display_name": "\\ud800"}'
        response = await api.post("/v1/instances", content=raw, headers={"content-type": "application/json"})
        assert_problem(response, 422, "validation-error")
        assert (await api.get("/v1/instances/tt_nul")).status_code == 404

    async def test_over_long_strings_are_422(self, api):
        response = await api.post("/v1/instances", json={"name": "tt_" + "a" * 61, "display_name": "x" * 201})
        body = assert_problem(response, 422, "validation-error")
        assert len(body["errors"]) == 2

    async def test_malformed_json_and_wrong_shapes_are_422(self, api):
        bad = await api.post(
            "/v1/instances", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert_problem(bad, 422, "validation-error")
        assert_problem(await api.post("/v1/instances", json=["tt_a"]), 422, "validation-error")
        assert_problem(await api.post("/v1/instances", json={"name": 5}), 422, "validation-error")

    async def test_body_too_large_is_413(self, api):
        response = await api.post("/v1/instances", json={"name": "tt_big", "display_name": "x" * 2_000_000})
        assert_problem(response, 413, "payload-too-large")


class TestList:
    async def test_lists_with_kinds(self, api):
        await create_portal(api, "tt_portal")
        await add_member(api, "tt_portal", "tt_member")
        await create_instance(api, "tt_alone")
        items = (await api.get("/v1/instances")).json()["items"]
        assert [(i["name"], i["kind"], i["portal"]) for i in items] == [
            ("tt_alone", "standalone", None),
            ("tt_member", "member", "tt_portal"),
            ("tt_portal", "portal", None),
        ]
        for kind, expected in [
            ("portal", ["tt_portal"]),
            ("member", ["tt_member"]),
            ("standalone", ["tt_alone"]),
        ]:
            page = (await api.get("/v1/instances", params={"kind": kind})).json()
            assert [i["name"] for i in page["items"]] == expected

    async def test_q_matches_name_or_display_name_case_insensitively(self, api):
        await create_instance(api, "tt_madrid", display_name="Clínica Centro")
        await create_instance(api, "tt_bilbao", display_name="Dental Norte")
        await create_instance(api, "tt_a_b", display_name="100% underscores")
        names = lambda r: [i["name"] for i in r.json()["items"]]  # noqa: E731
        assert names(await api.get("/v1/instances", params={"q": "MADRID"})) == ["tt_madrid"]
        assert names(await api.get("/v1/instances", params={"q": "norte"})) == ["tt_bilbao"]
        # LIKE wildcards in q are literal characters.
        assert names(await api.get("/v1/instances", params={"q": "%"})) == ["tt_a_b"]
        assert names(await api.get("/v1/instances", params={"q": "a_b"})) == ["tt_a_b"]

    async def test_keyset_pagination_walks_every_item_once(self, api):
        for i in range(7):
            await create_instance(api, f"tt_page_{i}")
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            response = await api.get("/v1/instances", params=params)
            assert response.status_code == 200
            page = response.json()
            seen += [i["name"] for i in page["items"]]
            cursor, pages = page["next_cursor"], pages + 1
            if cursor is None:
                assert "link" not in response.headers
                break
            assert 'rel="next"' in response.headers["link"]
            assert cursor in response.headers["link"]
        assert seen == [f"tt_page_{i}" for i in range(7)]
        assert pages == 3

    async def test_bad_list_parameters_are_422(self, api):
        assert_problem(await api.get("/v1/instances", params={"limit": 0}), 422, "validation-error")
        assert_problem(await api.get("/v1/instances", params={"limit": 501}), 422, "validation-error")
        assert_problem(await api.get("/v1/instances", params={"kind": "galaxy"}), 422, "validation-error")
        assert_problem(
            await api.get("/v1/instances", params={"cursor": "not-a-cursor"}), 422, "invalid-cursor"
        )
        assert_problem(await api.get("/v1/instances", params={"q": "a\x00"}), 422, "validation-error")
        assert_problem(await api.get("/v1/instances", params={"q": "x" * 101}), 422, "validation-error")


class TestGetPatch:
    async def test_get_and_404(self, api):
        await create_instance(api, "tt_get")
        response = await api.get("/v1/instances/tt_get")
        assert response.status_code == 200
        assert response.headers["etag"]
        assert_problem(await api.get("/v1/instances/tt_missing"), 404, "not-found")
        assert_problem(await api.get("/v1/instances/NOT_A_NAME"), 422, "validation-error")

    async def test_patch_bumps_version_and_etag(self, api):
        await create_instance(api, "tt_patch")
        before = await api.get("/v1/instances/tt_patch")
        response = await api.patch(
            "/v1/instances/tt_patch", json={"display_name": "New", "member_code": "S-1"}
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["display_name"], body["member_code"], body["version"]) == ("New", "S-1", 2)
        assert response.headers["etag"] != before.headers["etag"]
        cleared = await api.patch("/v1/instances/tt_patch", json={"member_code": None})
        assert cleared.json()["member_code"] is None
        assert cleared.json()["display_name"] == "New"

    async def test_patch_without_changes_keeps_the_version(self, api):
        await create_instance(api, "tt_same", display_name="Same")
        response = await api.patch("/v1/instances/tt_same", json={"display_name": "Same"})
        assert response.json()["version"] == 1

    async def test_if_match(self, api):
        await create_instance(api, "tt_etag")
        etag = (await api.get("/v1/instances/tt_etag")).headers["etag"]
        ok = await api.patch("/v1/instances/tt_etag", json={"display_name": "A"}, headers={"If-Match": etag})
        assert ok.status_code == 200
        stale = await api.patch(
            "/v1/instances/tt_etag", json={"display_name": "B"}, headers={"If-Match": etag}
        )
        assert_problem(stale, 412, "precondition-failed")
        assert (await api.get("/v1/instances/tt_etag")).json()["display_name"] == "A"
        star = await api.patch("/v1/instances/tt_etag", json={"display_name": "C"}, headers={"If-Match": "*"})
        assert star.status_code == 200

    async def test_patch_rejects_name_null_display_name_and_unknown_fields(self, api):
        await create_instance(api, "tt_fixed")
        assert_problem(
            await api.patch("/v1/instances/tt_fixed", json={"name": "tt_other"}), 422, "validation-error"
        )
        assert_problem(
            await api.patch("/v1/instances/tt_fixed", json={"display_name": None}), 422, "validation-error"
        )
        assert (await api.get("/v1/instances/tt_fixed")).json()["display_name"] == "tt_fixed"


class TestDelete:
    async def test_delete(self, api):
        await create_instance(api, "tt_gone")
        await api.put("/v1/instances/tt_gone/settings/colour", json={"value": "blue"})
        response = await api.delete("/v1/instances/tt_gone")
        assert response.status_code == 200
        assert response.json() == {
            "name": "tt_gone",
            "deleted": True,
            "detached_members": [],
            "removed_mappings": 0,
        }
        assert_problem(await api.get("/v1/instances/tt_gone"), 404, "not-found")
        assert_problem(await api.delete("/v1/instances/tt_gone"), 404, "not-found")
        # The name is free again, and nothing of the old instance comes back with it.
        await create_instance(api, "tt_gone")
        assert (await api.get("/v1/instances/tt_gone/settings")).json() == {}

    async def test_invariant_6_portal_with_members_needs_cascade(self, api):
        await create_portal(api, "tt_portal")
        await add_member(api, "tt_portal", "tt_m1")
        body = assert_problem(await api.delete("/v1/instances/tt_portal"), 409, "portal-has-members")
        assert body["member_count"] == 1
        assert (await api.get("/v1/portals/tt_portal")).status_code == 200
        response = await api.delete("/v1/instances/tt_portal", params={"cascade": "true"})
        assert response.json()["detached_members"] == ["tt_m1"]
        assert (await api.get("/v1/instances/tt_m1")).json()["kind"] == "standalone"

    async def test_deleting_a_member_detaches_it(self, api):
        await create_portal(api, "tt_portal")
        await add_member(api, "tt_portal", "tt_m1")
        assert (await api.delete("/v1/instances/tt_m1")).status_code == 200
        assert (await api.get("/v1/portals/tt_portal")).json()["member_count"] == 0

    async def test_stale_if_match_keeps_the_instance(self, api):
        await create_instance(api, "tt_keep")
        response = await api.delete("/v1/instances/tt_keep", headers={"If-Match": '"stale"'})
        assert_problem(response, 412, "precondition-failed")
        assert (await api.get("/v1/instances/tt_keep")).status_code == 200


class TestBodies:
    async def test_a_json_route_refuses_other_media_types_with_415(self, api):
        response = await api.post(
            "/v1/instances", content="name=tt_x", headers={"content-type": "text/plain"}
        )
        assert_problem(response, 415, "unsupported-media-type")
        form = await api.post("/v1/instances", data={"name": "tt_x"})
        assert_problem(form, 415, "unsupported-media-type")
        bare = await api.post("/v1/instances", content=b'{"name": "tt_x"}', headers={"content-type": ""})
        assert_problem(bare, 415, "unsupported-media-type")

    async def test_malformed_json_names_the_body_and_position(self, api):
        response = await api.post(
            "/v1/instances", content=b'{"name": ', headers={"content-type": "application/json"}
        )
        body = assert_problem(response, 422, "validation-error")
        assert body["errors"][0]["field"] == "body"
        assert "character 9" in body["errors"][0]["message"]

    async def test_streamed_body_over_the_limit_is_413(self, api):
        async def chunks():
            for _ in range(3):
                yield b" " * 600_000

        response = await api.post(
            "/v1/instances", content=chunks(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in response.request.headers
        assert_problem(response, 413, "payload-too-large")

    async def test_streamed_body_under_the_limit_is_read(self, api):
        async def chunks():
            yield b'{"name": '
            yield b'"tt_streamed"}'

        response = await api.post(
            "/v1/instances", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 201, response.text

    async def test_booleans_and_integers_are_not_coerced(self, api):
        await create_instance(api, "tt_strict")
        url = "/v1/instances/tt_strict/communications"
        for value in [0, "false", "no", None]:
            assert_problem(await api.put(url, json={"enabled": value}), 422, "validation-error")
        service = {"code": "A", "name": "A", "duration_minutes": "30"}
        assert_problem(
            await api.post("/v1/instances/tt_strict/services", json=service), 422, "validation-error"
        )
