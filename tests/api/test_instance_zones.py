"""An instance's time zone: given on create, PATCH and clone, the deployment's default otherwise, and
only ever an IANA name."""

import pytest

from tests.conftest import assert_problem, create_instance


async def test_create_patch_and_clone_set_the_zone(api):
    assert (await create_instance(api, "tt_madrid"))["time_zone"] == "Europe/Madrid"
    canary = await create_instance(api, "tt_canary", time_zone="Atlantic/Canary")
    assert canary["time_zone"] == "Atlantic/Canary"
    assert (await api.get("/v1/instances/tt_canary")).json()["time_zone"] == "Atlantic/Canary"
    before = await api.get("/v1/instances/tt_madrid")
    moved = await api.patch(
        "/v1/instances/tt_madrid",
        json={"time_zone": "America/New_York"},
        headers={"If-Match": before.headers["ETag"]},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["time_zone"], moved.json()["version"]) == ("America/New_York", 2)
    assert moved.headers["ETag"] != before.headers["ETag"]
    listed = (await api.get("/v1/instances", params={"q": "tt_madrid"})).json()["items"]
    assert [i["time_zone"] for i in listed] == ["America/New_York"]
    # A clone is where its model is, unless it says otherwise.
    same = await api.post("/v1/instances/tt_canary/clone", json={"name": "tt_canary_2"})
    assert same.json()["instance"]["time_zone"] == "Atlantic/Canary"
    other = await api.post(
        "/v1/instances/tt_canary/clone", json={"name": "tt_lisbon", "time_zone": "Europe/Lisbon"}
    )
    assert other.status_code == 201, other.text
    assert other.json()["instance"]["time_zone"] == "Europe/Lisbon"


async def test_the_default_zone_is_the_deployments(app, api):
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"default_timezone": "Asia/Tokyo"})
    try:
        assert (await create_instance(api, "tt_tokyo"))["time_zone"] == "Asia/Tokyo"
        given = await create_instance(api, "tt_given", time_zone="Europe/Madrid")
        assert given["time_zone"] == "Europe/Madrid"
    finally:
        app.state.settings = settings


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("Mars/Olympus", "such as 'Europe/Madrid'"),
        ("+01:00", "such as 'Europe/Madrid'"),
        ("europe/madrid", "did you mean 'Europe/Madrid'?"),
    ],
)
async def test_anything_but_a_zone_name_is_a_422_naming_the_field(api, value, hint):
    await create_instance(api, "tt_x")
    attempts = [
        await api.post("/v1/instances", json={"name": "tt_y", "time_zone": value}),
        await api.patch("/v1/instances/tt_x", json={"time_zone": value}),
        await api.post("/v1/instances/tt_x/clone", json={"name": "tt_z", "time_zone": value}),
    ]
    for response in attempts:
        problem = assert_problem(response, 422, "validation-error")
        assert problem["detail"].startswith("body.time_zone: ")
        assert hint in problem["detail"]
        assert problem["errors"][0]["field"] == "body.time_zone"
    assert (await api.get("/v1/instances/tt_x")).json()["time_zone"] == "Europe/Madrid"
    assert (await api.get("/v1/instances/tt_y")).status_code == 404


async def test_a_zone_cannot_be_patched_to_null(api):
    await create_instance(api, "tt_x")
    problem = assert_problem(
        await api.patch("/v1/instances/tt_x", json={"time_zone": None}), 422, "validation-error"
    )
    assert problem["errors"] == [{"field": "body.time_zone", "message": "cannot be null"}]
