"""The services CSV through the API: POST …/services/import and GET …/services/export."""

from tests.conftest import add_member, assert_problem, create_instance, create_portal

IMPORT = "/v1/instances/tt_c/services/import"
CSV = {"content-type": "text/csv"}
GOOD = (
    "code,name,duration_minutes,price,web_enabled\n"
    "LIMP,Limpieza dental,30,45.50,true\n"
    'REV,"Revisión, general",20,,false\n'
)


async def _codes(api, instance="tt_c"):
    return [
        (s["code"], s["name"]) for s in (await api.get(f"/v1/instances/{instance}/services")).json()["items"]
    ]


async def test_import_creates_then_reports_unchanged(api):
    await create_instance(api, "tt_c")
    response = await api.post(IMPORT, content=GOOD, headers=CSV)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["deleted"], body["errors"]) == (
        2,
        0,
        0,
        0,
        [],
    )
    assert body["codes"]["created"] == ["LIMP", "REV"]
    assert await _codes(api) == [("LIMP", "Limpieza dental"), ("REV", "Revisión, general")]
    again = (await api.post(IMPORT, content=GOOD, headers=CSV)).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


async def test_export_then_import_changes_nothing(api):
    await create_instance(api, "tt_c")
    await api.post(IMPORT, content=GOOD, headers=CSV)
    before = (await api.get("/v1/instances/tt_c/services")).json()["items"]
    exported = await api.get("/v1/instances/tt_c/services/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert 'filename="tt_c-services.csv"' in exported.headers["content-disposition"]
    assert exported.text.splitlines()[0] == "code,name,duration_minutes,price,web_enabled"
    report = (await api.post(IMPORT, content=exported.content, headers=CSV)).json()
    assert (report["created"], report["updated"], report["unchanged"], report["deleted"]) == (0, 0, 2, 0)
    assert (await api.get("/v1/instances/tt_c/services")).json()["items"] == before
    # And into another instance it recreates the same services.
    await create_instance(api, "tt_d")
    await api.post("/v1/instances/tt_d/services/import", content=exported.content, headers=CSV)
    assert await _codes(api, "tt_d") == await _codes(api)


async def test_bom_semicolons_crlf_and_multipart(api):
    await create_instance(api, "tt_c")
    text = "\ufeffcode;name;duration_minutes;price;web_enabled\r\nLIMP;Limpieza;30;45,50;sí\r\n"
    response = await api.post(IMPORT, content=text.encode(), headers=CSV)
    assert response.status_code == 200, response.text
    service = (await api.get("/v1/instances/tt_c/services/LIMP")).json()
    assert (service["name"], service["price"], service["web_enabled"]) == ("Limpieza", "45.50", True)
    files = {"file": ("services.csv", GOOD.encode(), "text/csv")}
    multipart = await api.post(IMPORT, files=files)
    assert multipart.status_code == 200, multipart.text
    assert multipart.json()["created"] == 1
    assert multipart.json()["updated"] == 1


async def test_every_bad_row_is_reported_and_nothing_written(api):
    await create_instance(api, "tt_c")
    text = (
        "code,name,duration_minutes,price,web_enabled\n"
        "OK1,Fine,30,,true\n"
        "bad code,,0,-3,perhaps\n"
        "OK1,Again,30,,true\n"
        "SHORT,row\n"
    )
    response = await api.post(IMPORT, content=text, headers=CSV)
    body = assert_problem(response, 422, "invalid-csv")
    lines = [(e["line"], e["field"]) for e in body["errors"]]
    assert (3, "code") in lines
    assert (3, "name") in lines
    assert (3, "duration_minutes") in lines
    assert (3, "price") in lines
    assert (3, "web_enabled") in lines
    assert (4, "code") in lines
    assert (5, None) in lines
    assert (2, "code") not in lines
    assert await _codes(api) == []


async def test_bad_headers_and_encodings(api):
    await create_instance(api, "tt_c")
    for text in ["", "code,name\nA,b\n", "code,name,duration_minutes,colour\nA,b,3,red\n"]:
        assert_problem(await api.post(IMPORT, content=text, headers=CSV), 422, "invalid-csv")
    latin1 = "code,name,duration_minutes\nA,Revisión,3\n".encode("latin-1")
    assert_problem(await api.post(IMPORT, content=latin1, headers=CSV), 422, "invalid-csv")
    assert_problem(await api.post(IMPORT, content=b"\x00", headers=CSV), 422, "invalid-csv")
    assert_problem(await api.post(IMPORT, json={"code": "A"}), 415, "unsupported-media-type")
    assert_problem(
        await api.post(IMPORT, params={"mode": "merge"}, content=GOOD, headers=CSV), 422, "validation-error"
    )


async def test_size_limit_is_413(api):
    await create_instance(api, "tt_c")
    big = "code,name,duration_minutes\n" + "".join(f"C{i},{'x' * 100},30\n" for i in range(12_000))
    assert_problem(await api.post(IMPORT, content=big, headers=CSV), 413, "payload-too-large")


async def test_dry_run_writes_nothing(api):
    await create_instance(api, "tt_c")
    response = await api.post(IMPORT, params={"dry_run": True}, content=GOOD, headers=CSV)
    assert response.json()["dry_run"] is True
    assert response.json()["created"] == 2
    assert await _codes(api) == []


async def test_replace_deletes_absent_services_under_invariant_6(api):
    await create_portal(api, "tt_portal")
    await add_member(api, "tt_portal", "tt_c")
    await api.post(
        "/v1/instances/tt_portal/services", json={"code": "LIMP", "name": "L", "duration_minutes": 30}
    )
    await api.post(IMPORT, content=GOOD + "OLD,Old,10,,false\nGONE,Gone,10,,false\n", headers=CSV)
    await api.post(
        "/v1/portals/tt_portal/members/tt_c/mappings",
        json={"member_service": "OLD", "portal_service": "LIMP"},
    )
    replace = {"mode": "replace"}
    assert_problem(await api.post(IMPORT, params=replace, content=GOOD, headers=CSV), 409, "service-mapped")
    dry = await api.post(IMPORT, params={**replace, "dry_run": True}, content=GOOD, headers=CSV)
    assert_problem(dry, 409, "service-mapped")
    assert len(await _codes(api)) == 4
    dry = await api.post(
        IMPORT, params={**replace, "dry_run": True, "cascade": True}, content=GOOD, headers=CSV
    )
    assert dry.json()["deleted"] == 2
    assert dry.json()["removed_mappings"] == 1
    assert len(await _codes(api)) == 4
    done = await api.post(IMPORT, params={**replace, "cascade": True}, content=GOOD, headers=CSV)
    assert done.json()["codes"]["deleted"] == ["GONE", "OLD"]
    assert done.json()["removed_mappings"] == 1
    assert [c for c, _ in await _codes(api)] == ["LIMP", "REV"]


async def test_export_of_unknown_instance_is_404(api):
    assert_problem(await api.get("/v1/instances/tt_none/services/export"), 404, "not-found")
    assert_problem(
        await api.post("/v1/instances/tt_none/services/import", content=GOOD, headers=CSV), 404, "not-found"
    )


async def test_errors_name_the_right_line_and_services(api):
    await create_instance(api, "tt_c")
    latin1 = "code,name,duration_minutes\nA,ok,3\nB,Revisión,3\n".encode("latin-1")
    body = assert_problem(await api.post(IMPORT, content=latin1, headers=CSV), 422, "invalid-csv")
    assert body["errors"] == [{"line": 3, "field": None, "message": body["errors"][0]["message"]}]
    no_file = await api.post(IMPORT, files={"other": ("x.csv", b"x")})
    assert assert_problem(no_file, 422, "invalid-csv")["errors"] == [{"field": "file", "message": "missing"}]


async def test_service_mapped_names_only_mapped_services(api):
    await create_portal(api, "tt_portal")
    await add_member(api, "tt_portal", "tt_c")
    await api.post(
        "/v1/instances/tt_portal/services", json={"code": "LIMP", "name": "L", "duration_minutes": 30}
    )
    await api.post(IMPORT, content=GOOD + "OLD,Old,10,,false\nGONE,Gone,10,,false\n", headers=CSV)
    url = "/v1/portals/tt_portal/members/tt_c/mappings"
    await api.post(url, json={"member_service": "OLD", "portal_service": "LIMP"})
    response = await api.post(IMPORT, params={"mode": "replace"}, content=GOOD, headers=CSV)
    body = assert_problem(response, 409, "service-mapped")
    assert body["services"] == ["OLD"]
    assert "GONE" not in body["detail"]
