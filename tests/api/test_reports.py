"""GET /v1/portals/{portal}/report: JSON and CSV."""

import csv
import io

from tests.conftest import add_member, assert_problem, create_instance, create_portal


async def _service(api, instance, code, web=False):
    body = {"code": code, "name": code, "duration_minutes": 30, "web_enabled": web}
    assert (await api.post(f"/v1/instances/{instance}/services", json=body)).status_code == 201


async def _portal(api):
    await create_portal(api, "tt_portal")
    await add_member(api, "tt_portal", "tt_a")
    await add_member(api, "tt_portal", "tt_b")
    for code in ["LIMP", "REV", "ORT"]:
        await _service(api, "tt_portal", code)
    await _service(api, "tt_a", "L1", web=True)
    await _service(api, "tt_a", "R1", web=True)
    await _service(api, "tt_a", "Z1", web=False)
    await api.post(
        "/v1/portals/tt_portal/members/tt_a/mappings", json={"member_service": "L1", "portal_service": "LIMP"}
    )


async def test_report_json(api):
    await _portal(api)
    response = await api.get("/v1/portals/tt_portal/report")
    assert response.status_code == 200
    report = response.json()
    assert (report["portal"], report["ready"], report["unmet_requirements"]) == ("tt_portal", True, [])
    assert (report["member_count"], report["portal_services"]) == (2, 3)
    assert report["unused_portal_services"] == ["ORT", "REV"]
    a, b = report["members"]
    assert (a["name"], a["services"], a["mapped"], a["unmapped"], a["web_enabled_unmapped"]) == (
        "tt_a",
        3,
        1,
        ["R1", "Z1"],
        ["R1"],
    )
    assert (b["name"], b["services"], b["mapped"], b["unmapped"], b["web_enabled_unmapped"]) == (
        "tt_b",
        0,
        0,
        [],
        [],
    )
    assert a["last_sync"] is None


async def test_report_csv(api):
    await _portal(api)
    response = await api.get("/v1/portals/tt_portal/report", headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [
        (r["member"], r["services"], r["mapped"], r["unmapped"], r["web_enabled_unmapped"]) for r in rows
    ] == [
        ("tt_a", "3", "1", "R1 Z1", "R1"),
        ("tt_b", "0", "0", "", ""),
    ]
    json_first = await api.get(
        "/v1/portals/tt_portal/report", headers={"Accept": "application/json, text/csv"}
    )
    assert json_first.headers["content-type"].startswith("application/json")


async def test_report_shows_a_portal_that_is_not_ready(api):
    await create_instance(api, "tt_p")
    await api.put("/v1/instances/tt_p/settings/portalInstanceName", json={"value": "portal"})
    report = (await api.get("/v1/portals/tt_p/report")).json()
    assert report["ready"] is False
    assert [r["code"] for r in report["unmet_requirements"]] == ["communications-enabled"]
    assert report["members"] == []


async def test_report_of_a_non_portal_is_404(api):
    await create_instance(api, "tt_x")
    assert_problem(await api.get("/v1/portals/tt_x/report"), 404, "not-found")


async def test_accept_header_with_q_values(api):
    await _portal(api)
    cases = {
        "text/csv": "text/csv",
        "text/csv;q=0.1, application/json": "application/json",
        "application/json;q=0.5, text/csv": "text/csv",
        "*/*": "application/json",
        "text/csv, */*;q=0.8": "text/csv",
        "text/csv;q=0": "application/json",
    }
    for accept, expected in cases.items():
        response = await api.get("/v1/portals/tt_portal/report", headers={"Accept": accept})
        assert response.headers["content-type"].startswith(expected), accept
