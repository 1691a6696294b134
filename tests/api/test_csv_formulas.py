"""CSV formula injection: the services export and the report CSV never hand a spreadsheet a formula,
and export then import stays exact."""

import csv
import io

from app.domain.csv_cells import FORMULA_STARTS
from tests.conftest import create_instance, create_portal

CSV = {"content-type": "text/csv"}
NAMES = {
    "EQ": '=HYPERLINK("http://evil.example","click")',
    "PLUS": "+34 600 000 000",
    "MINUS": "-2+3",
    "AT": "@SUM(A1:A9)",
    "QUOTE": "'=already quoted",
    "PLAIN": "Limpieza dental",
}


def _cells(text):
    return [cell for record in csv.reader(io.StringIO(text, newline="")) for cell in record]


async def _services(api, name):
    items = (await api.get(f"/v1/instances/{name}/services")).json()["items"]
    return {s["code"]: s["name"] for s in items}


async def test_export_escapes_formulas_and_import_restores_them(api):
    await create_instance(api, "tt_c")
    for code, name in NAMES.items():
        created = await api.post(
            "/v1/instances/tt_c/services", json={"code": code, "name": name, "duration_minutes": 30}
        )
        assert created.status_code == 201, created.text
    exported = await api.get("/v1/instances/tt_c/services/export")
    cells = _cells(exported.text)
    assert not [cell for cell in cells if cell[:1] in FORMULA_STARTS], exported.text
    assert '\'=HYPERLINK("http://evil.example","click")' in cells
    assert "''=already quoted" in cells
    # Back into the same instance: nothing changes. Into another: the very same names.
    again = (
        await api.post("/v1/instances/tt_c/services/import", content=exported.content, headers=CSV)
    ).json()
    assert (again["unchanged"], again["updated"], again["created"]) == (len(NAMES), 0, 0)
    await create_instance(api, "tt_d")
    copied = await api.post("/v1/instances/tt_d/services/import", content=exported.content, headers=CSV)
    assert copied.status_code == 200, copied.text
    assert await _services(api, "tt_d") == await _services(api, "tt_c") == NAMES


async def test_report_csv_escapes_formulas(api):
    await create_portal(api, "tt_portal")
    await create_instance(api, "tt_m", display_name="=cmd|' /C calc'!A0", member_code="@evil")
    await api.post("/v1/portals/tt_portal/members", json={"instance": "tt_m"})
    report = await api.get("/v1/portals/tt_portal/report", headers={"Accept": "text/csv"})
    assert report.status_code == 200
    cells = _cells(report.text)
    assert not [cell for cell in cells if cell[:1] in FORMULA_STARTS], report.text
    assert "'=cmd|' /C calc'!A0" in cells
    assert "'@evil" in cells
