"""Instance names as the procedure writes them: with or without `tt_` in bodies, paths and `dbName`;
near misses refused with the valid spelling; unknown names answered with the caller's closest ones."""

from tests.conftest import assert_problem, create_portal


async def test_the_prefix_may_be_left_out_everywhere(api):
    created = await api.post("/v1/instances", json={"name": "sanitas_gesdent_digest"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "tt_sanitas_gesdent_digest"
    assert created.headers["location"] == "/v1/instances/tt_sanitas_gesdent_digest"
    # Paths
    got = await api.get("/v1/instances/sanitas_gesdent_digest")
    assert got.status_code == 200
    assert got.json()["name"] == "tt_sanitas_gesdent_digest"
    renamed = await api.patch("/v1/instances/sanitas_gesdent_digest", json={"display_name": "Sanitas"})
    assert renamed.status_code == 200, renamed.text
    # Bodies: promote, add a member, clone
    await create_portal(api, "portal_sanitas")
    assert (await api.get("/v1/portals/tt_portal_sanitas")).status_code == 200
    joined = await api.post("/v1/portals/portal_sanitas/members", json={"instance": "sanitas_gesdent_digest"})
    assert joined.status_code == 201, joined.text
    assert joined.json()["name"] == "tt_sanitas_gesdent_digest"
    assert joined.headers["location"] == "/v1/portals/tt_portal_sanitas/members/tt_sanitas_gesdent_digest"
    member = await api.get("/v1/portals/portal_sanitas/members/sanitas_gesdent_digest")
    assert member.status_code == 200, member.text
    clone = await api.post(
        "/v1/instances/sanitas_gesdent_digest/clone",
        json={"name": "sanitas_gesdent_md5", "member_code": "S-2", "join_portal": True},
    )
    assert clone.status_code == 201, clone.text
    assert clone.json()["instance"]["name"] == "tt_sanitas_gesdent_md5"
    assert clone.json()["instance"]["cloned_from"] == "tt_sanitas_gesdent_digest"
    names = [i["name"] for i in (await api.get("/v1/instances")).json()["items"]]
    assert names == ["tt_portal_sanitas", "tt_sanitas_gesdent_digest", "tt_sanitas_gesdent_md5"]
    # The same name twice, once with and once without the prefix, is the same name.
    for again in ("tt_sanitas_gesdent_md5", "portal_sanitas"):
        assert_problem(await api.post("/v1/instances", json={"name": again}), 409, "name-taken")


async def test_a_near_miss_is_a_422_naming_the_valid_spelling(api):
    for response in (
        await api.post("/v1/instances", json={"name": "Sanitas-Gesdent"}),
        await api.get("/v1/instances/Sanitas-Gesdent"),
        await api.get("/cron_importer_gesdent.php", params={"dbName": "TT_Sanitas-Gesdent"}),
    ):
        body = assert_problem(response, 422, "validation-error")
        assert "did you mean 'tt_sanitas_gesdent'?" in body["detail"], body
        assert "did you mean 'tt_sanitas_gesdent'?" in body["errors"][0]["message"]
    assert (await api.get("/v1/instances")).json()["items"] == []


async def test_an_unknown_name_suggests_the_callers_closest_instances(api, other):
    await api.post("/v1/instances", json={"name": "sanitas_gesdent_digest"})
    await api.post("/v1/instances", json={"name": "sanitas_gesdent_md5"})
    await other.post("/v1/instances", json={"name": "sanitas_gedent_digestx"})  # another partner's
    # The procedure's own example URL misspells gesdent as gedent.
    for response in (
        await api.get("/v1/instances/tt_sanitas_gedent_digest"),
        await api.get("/cron_importer_gesdent.php", params={"dbName": "tt_sanitas_gedent_digest"}),
        await api.post("/v1/portals", json={"instance": "sanitas_gedent_digest"}),
    ):
        body = assert_problem(response, 404, "not-found")
        assert body["suggestions"][0] == "tt_sanitas_gesdent_digest", body
        assert "tt_sanitas_gedent_digestx" not in body["suggestions"]  # never another partner's names
        assert "Did you mean tt_sanitas_gesdent_digest" in body["detail"]
    unrelated = assert_problem(await api.get("/v1/instances/tt_zzz"), 404, "not-found")
    assert unrelated["suggestions"] == []
    assert "Did you mean" not in unrelated["detail"]
    # The other partner's own typo is answered with its own name, not ours.
    theirs = assert_problem(await other.get("/v1/instances/sanitas_gesdent_digest"), 404, "not-found")
    assert theirs["suggestions"] == ["tt_sanitas_gedent_digestx"]
