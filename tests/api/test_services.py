"""/v1/instances/{name}/services: CRUD, filters, ETags, the Web column."""

from tests.conftest import assert_problem, create_instance

LIMP = {
    "code": "LIMP",
    "name": "Limpieza dental",
    "duration_minutes": 30,
    "price": "45.50",
    "web_enabled": True,
}


async def test_create_get_list(api):
    await create_instance(api, "tt_c")
    response = await api.post("/v1/instances/tt_c/services", json=LIMP)
    assert response.status_code == 201
    assert response.headers["location"] == "/v1/instances/tt_c/services/LIMP"
    body = response.json()
    assert {k: body[k] for k in LIMP} == LIMP
    assert body["mapped_to"] is None
    assert body["version"] == 1
    got = await api.get("/v1/instances/tt_c/services/LIMP")
    assert got.json() == body
    assert got.headers["etag"] == response.headers["etag"]
    minimal = await api.post(
        "/v1/instances/tt_c/services", json={"code": "REV", "name": "Revisión", "duration_minutes": 20}
    )
    assert minimal.json()["price"] is None
    assert minimal.json()["web_enabled"] is False
    listed = (await api.get("/v1/instances/tt_c/services")).json()
    assert [s["code"] for s in listed["items"]] == ["LIMP", "REV"]


async def test_filters(api):
    await create_instance(api, "tt_c")
    await api.post("/v1/instances/tt_c/services", json=LIMP)
    await api.post(
        "/v1/instances/tt_c/services", json={"code": "REV", "name": "Revisión", "duration_minutes": 20}
    )
    codes = lambda r: [s["code"] for s in r.json()["items"]]  # noqa: E731
    assert codes(await api.get("/v1/instances/tt_c/services", params={"web_enabled": True})) == ["LIMP"]
    assert codes(await api.get("/v1/instances/tt_c/services", params={"web_enabled": False})) == ["REV"]
    assert codes(await api.get("/v1/instances/tt_c/services", params={"q": "revis"})) == ["REV"]
    assert codes(await api.get("/v1/instances/tt_c/services", params={"q": "limp"})) == ["LIMP"]
    assert codes(await api.get("/v1/instances/tt_c/services", params={"mapped": False})) == ["LIMP", "REV"]
    assert codes(await api.get("/v1/instances/tt_c/services", params={"mapped": True})) == []
    page = await api.get("/v1/instances/tt_c/services", params={"limit": 1})
    assert page.json()["next_cursor"]
    assert 'rel="next"' in page.headers["link"]


async def test_invalid_services_are_422_listing_every_field(api):
    await create_instance(api, "tt_c")
    bad = {
        "code": "no spaces",
        "name": "",
        "duration_minutes": 0,
        "price": "-1",
        "web_enabled": "often",
        "x": 1,
    }
    body = assert_problem(await api.post("/v1/instances/tt_c/services", json=bad), 422, "validation-error")
    assert {e["field"] for e in body["errors"]} == {
        "body.code",
        "body.name",
        "body.duration_minutes",
        "body.price",
        "body.web_enabled",
        "body.x",
    }
    for code in ["export", "import"]:
        reserved = await api.post("/v1/instances/tt_c/services", json={**LIMP, "code": code})
        assert_problem(reserved, 422, "validation-error")
    too_precise = await api.post("/v1/instances/tt_c/services", json={**LIMP, "price": "1.234"})
    assert_problem(too_precise, 422, "validation-error")
    assert (await api.get("/v1/instances/tt_c/services")).json()["items"] == []


async def test_a_price_travels_as_a_decimal_string_and_keeps_every_cent(api):
    await create_instance(api, "tt_c")
    # 0.1 + 0.2 and the largest price: exact as decimal strings, rounded by binary floating point.
    for sent, kept in [("0.3", "0.30"), ("99999999.99", "99999999.99"), ("7", "7.00"), ("0", "0.00")]:
        code = f"P{sent.replace('.', '_')}"
        created = await api.post("/v1/instances/tt_c/services", json={**LIMP, "code": code, "price": sent})
        assert created.json()["price"] == kept
        assert (await api.get(f"/v1/instances/tt_c/services/{code}")).json()["price"] == kept
    exported = (await api.get("/v1/instances/tt_c/services/export")).text
    assert "P99999999_99,Limpieza dental,30,99999999.99,true" in exported


async def test_a_price_as_a_json_number_is_refused_with_the_form_to_use(api):
    await create_instance(api, "tt_c")
    for price in [45.5, 45, "45.505", "045", "1e3", " 45", "-0", "100000000"]:
        refused = await api.post("/v1/instances/tt_c/services", json={**LIMP, "price": price})
        body = assert_problem(refused, 422, "validation-error")
        assert [e["field"] for e in body["errors"]] == ["body.price"], price
        assert "decimal string" in body["errors"][0]["message"], price
    assert (await api.get("/v1/instances/tt_c/services")).json()["items"] == []


async def test_duplicate_code_is_409(api):
    await create_instance(api, "tt_c")
    await api.post("/v1/instances/tt_c/services", json=LIMP)
    assert_problem(await api.post("/v1/instances/tt_c/services", json=LIMP), 409, "service-code-taken")
    # Codes are unique per instance, not globally.
    await create_instance(api, "tt_d")
    assert (await api.post("/v1/instances/tt_d/services", json=LIMP)).status_code == 201


async def test_patch_web_column_and_if_match(api):
    await create_instance(api, "tt_c")
    created = await api.post("/v1/instances/tt_c/services", json={**LIMP, "web_enabled": False})
    etag = created.headers["etag"]
    response = await api.patch(
        "/v1/instances/tt_c/services/LIMP", json={"web_enabled": True}, headers={"If-Match": etag}
    )
    assert response.status_code == 200
    assert response.json()["web_enabled"] is True
    assert response.json()["version"] == 2
    stale = await api.patch(
        "/v1/instances/tt_c/services/LIMP", json={"price": "1"}, headers={"If-Match": etag}
    )
    assert_problem(stale, 412, "precondition-failed")
    cleared = await api.patch("/v1/instances/tt_c/services/LIMP", json={"price": None})
    assert cleared.json()["price"] is None
    assert_problem(
        await api.patch("/v1/instances/tt_c/services/LIMP", json={"name": None}), 422, "validation-error"
    )
    assert_problem(
        await api.patch("/v1/instances/tt_c/services/LIMP", json={"code": "X"}), 422, "validation-error"
    )
    assert_problem(await api.patch("/v1/instances/tt_c/services/NOPE", json={"price": "1"}), 404, "not-found")


async def test_delete(api):
    await create_instance(api, "tt_c")
    await api.post("/v1/instances/tt_c/services", json=LIMP)
    response = await api.delete("/v1/instances/tt_c/services/LIMP")
    assert response.json() == {"code": "LIMP", "deleted": True, "removed_mappings": 0}
    assert_problem(await api.get("/v1/instances/tt_c/services/LIMP"), 404, "not-found")
    assert_problem(await api.delete("/v1/instances/tt_c/services/LIMP"), 404, "not-found")


async def test_unknown_instance_is_404(api):
    assert_problem(await api.get("/v1/instances/tt_none/services"), 404, "not-found")
    assert_problem(await api.post("/v1/instances/tt_none/services", json=LIMP), 404, "not-found")
