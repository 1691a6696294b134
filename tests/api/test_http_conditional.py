"""Conditional GETs: If-None-Match → 304 on every GET that has an ETag, the report included (its ETag
is that of its bytes), and Vary: Accept on every answer that depends on Accept."""

import pytest

from tests.conftest import GESDENT_RULES, add_member, assert_problem, create_instance, create_portal


async def _not_modified(client, path, etag, **headers):
    response = await client.get(path, headers={"If-None-Match": etag, **headers})
    assert response.status_code == 304, response.text
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert "content-type" not in response.headers
    return response


async def test_an_instance_is_not_modified_while_its_etag_holds(api):
    await create_instance(api, "tt_clinic")
    first = await api.get("/v1/instances/tt_clinic")
    etag = first.headers["etag"]
    await _not_modified(api, "/v1/instances/tt_clinic", etag)
    # Weak comparison (RFC 9110 §13.1.2), lists and `*`.
    await _not_modified(api, "/v1/instances/tt_clinic", etag, **{"If-None-Match": f"W/{etag}"})
    await _not_modified(api, "/v1/instances/tt_clinic", etag, **{"If-None-Match": f'"other", {etag}'})
    await _not_modified(api, "/v1/instances/tt_clinic", etag, **{"If-None-Match": "*"})


async def test_another_etag_gets_the_whole_answer(api):
    await create_instance(api, "tt_clinic")
    etag = (await api.get("/v1/instances/tt_clinic")).headers["etag"]
    await _not_modified(api, "/v1/instances/tt_clinic", etag)
    other = await api.get("/v1/instances/tt_clinic", headers={"If-None-Match": '"not-this-one"'})
    assert other.status_code == 200
    assert other.json()["name"] == "tt_clinic"
    changed = await api.patch("/v1/instances/tt_clinic", json={"display_name": "Renamed"})
    assert changed.status_code == 200
    stale = await api.get("/v1/instances/tt_clinic", headers={"If-None-Match": etag})
    assert stale.status_code == 200
    assert stale.json()["display_name"] == "Renamed"
    assert stale.headers["etag"] == changed.headers["etag"] != etag
    await _not_modified(api, "/v1/instances/tt_clinic", stale.headers["etag"])
    # If-Match on writes is unchanged: 412 when stale. If-None-Match is a condition of GETs only.
    refused = await api.patch(
        "/v1/instances/tt_clinic", json={"display_name": "B"}, headers={"If-Match": etag}
    )
    assert_problem(refused, 412, "precondition-failed")
    current = stale.headers["etag"]
    written = await api.patch(
        "/v1/instances/tt_clinic", json={"display_name": "C"}, headers={"If-None-Match": current}
    )
    assert written.status_code == 200


async def test_head_is_conditional_too(api):
    await create_instance(api, "tt_clinic")
    etag = (await api.get("/v1/instances/tt_clinic")).headers["etag"]
    head = await api.head("/v1/instances/tt_clinic", headers={"If-None-Match": etag})
    assert head.status_code == 304
    assert head.headers["etag"] == etag


@pytest.mark.parametrize(
    "path",
    [
        "/v1/instances/tt_clinic/settings",
        "/v1/instances/tt_clinic/settings/color",
        "/v1/instances/tt_clinic/communications",
        "/v1/instances/tt_clinic/services/LIMP",
        "/v1/instances/tt_clinic/gesdent",
        "/v1/portals/tt_portal",
    ],
)
async def test_every_get_with_an_etag_answers_304(api, path):
    await create_instance(api, "tt_clinic")
    await create_portal(api, "tt_portal")
    assert (await api.put("/v1/instances/tt_clinic/settings/color", json={"value": "blue"})).is_success
    service = {"code": "LIMP", "name": "Limpieza", "duration_minutes": 30}
    assert (await api.post("/v1/instances/tt_clinic/services", json=service)).status_code == 201
    assert (await api.put("/v1/instances/tt_clinic/gesdent", json=GESDENT_RULES)).status_code == 201
    etag = (await api.get(path)).headers["etag"]
    await _not_modified(api, path, etag)


async def _report_portal(api):
    await create_portal(api, "tt_portal")
    await add_member(api, "tt_portal", "tt_member")


@pytest.mark.parametrize("accept", ["application/json", "text/csv", "text/html"])
async def test_the_report_has_an_etag_of_its_bytes_and_answers_304(api, make_client, accept):
    await _report_portal(api)
    # A key that may write gets a page whose form token changes every second, and its ETag with it.
    reader = await make_client(scopes=["instances:read"], partner_id=api.partner_id)
    path = "/v1/portals/tt_portal/report"
    headers = {"Accept": accept, "Accept-Encoding": "identity"}  # a gzipped answer's tag is weak
    first = await reader.get(path, headers=headers)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"')  # strong: equal bytes, equal tag
    again = await reader.get(path, headers=headers)
    assert again.headers["etag"] == etag
    assert again.content == first.content
    await _not_modified(reader, path, etag, **headers)


async def test_the_report_etag_follows_its_content_and_its_form(api):
    await _report_portal(api)
    path = "/v1/portals/tt_portal/report"
    as_json = await api.get(path)
    as_csv = await api.get(path, headers={"Accept": "text/csv"})
    assert as_json.headers["etag"] != as_csv.headers["etag"]
    service = {"code": "LIMP", "name": "Limpieza", "duration_minutes": 30}
    assert (await api.post("/v1/instances/tt_member/services", json=service)).status_code == 201
    changed = await api.get(path, headers={"If-None-Match": as_json.headers["etag"]})
    assert changed.status_code == 200
    assert changed.json()["members"][0]["unmapped"] == ["LIMP"]
    assert changed.headers["etag"] != as_json.headers["etag"]


async def test_the_negotiated_report_varies_on_accept(api):
    await _report_portal(api)
    for accept in ("application/json", "text/csv", "text/html"):
        response = await api.get("/v1/portals/tt_portal/report", headers={"Accept": accept})
        assert response.status_code == 200
        assert "accept" in [v.strip().lower() for v in response.headers["vary"].split(",")], accept
    # Answers that do not depend on Accept do not vary on it.
    await create_instance(api, "tt_clinic")
    assert "vary" not in (await api.get("/v1/instances/tt_clinic")).headers


async def test_the_pages_problems_vary_on_accept(api, anon):
    # A browser would get these as pages: the JSON answer depends on Accept as well.
    unknown = await api.get("/v1/portals/tt_nowhere/report")
    assert_problem(unknown, 404, "not-found")
    assert "Accept" in unknown.headers["vary"]
    unauthorized = await anon.get("/cron_importer_gesdent.php", params={"dbName": "tt_x"})
    assert_problem(unauthorized, 401, "unauthorized")
    assert "Accept" in unauthorized.headers["vary"]
    wrong_query = await api.get("/v1/portals/tt_nowhere/report", params={"pages": "2"})
    assert_problem(wrong_query, 422, "unknown-query-parameter")
    assert "Accept" in wrong_query.headers["vary"]
