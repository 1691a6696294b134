"""The data the sync keeps from GESDENT, through the API, and the portal availability built from it
and the mappings."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlmodel import col

from app.db.models import GesdentPatient, GesdentReservation, GesdentResource, GesdentSlot, Instance
from tests.conftest import add_member, assert_problem, create_instance, create_portal

DAY = datetime(2026, 11, 24, tzinfo=UTC)


async def _id(app, name):
    async with app.state.sessionmaker() as session:
        return (
            await session.execute(select(col(Instance.id)).where(col(Instance.name) == name))
        ).scalar_one()


async def _slots(app, instance_id, resource, *specs):
    rows = [
        {
            "instance_id": instance_id,
            "resource_id": resource,
            "starts_at": DAY + timedelta(hours=hour),
            "ends_at": DAY + timedelta(hours=hour, minutes=30),
            "treatment_codes": codes,
        }
        for hour, codes in specs
    ]
    async with app.state.engine.begin() as connection:
        await connection.execute(insert(GesdentSlot), rows)


async def _service(api, instance, code, web):
    body = {"code": code, "name": code, "duration_minutes": 30, "web_enabled": web}
    assert (await api.post(f"/v1/instances/{instance}/services", json=body)).status_code == 201


async def test_portal_availability(app, api):
    await create_portal(api, "tt_portal")
    await _service(api, "tt_portal", "CLEAN", False)
    for member in ("tt_b", "tt_a", "tt_c"):
        await add_member(api, "tt_portal", member)
    await _service(api, "tt_a", "LIMP", True)
    await _service(api, "tt_a", "L_2", True)
    await _service(api, "tt_b", "LIMP", False)  # not bookable online
    await _service(api, "tt_c", "HYG", True)
    for member, code in (("tt_a", "LIMP"), ("tt_a", "L_2"), ("tt_b", "LIMP"), ("tt_c", "HYG")):
        url = f"/v1/portals/tt_portal/members/{member}/mappings"
        assert (
            await api.post(url, json={"member_service": code, "portal_service": "CLEAN"})
        ).status_code == 201
    a, b, c = [await _id(app, n) for n in ("tt_a", "tt_b", "tt_c")]
    await _slots(app, a, "RES-A", (9, "LIMP REV"), (10, "REV"), (11, "L_2"), (12, "LX2"), (13, "LIMP L_2"))
    await _slots(app, b, "RES-B", (9, "LIMP"))
    await _slots(app, c, "RES-C", (9, "ORT"))  # no slot offers HYG
    response = await api.get(
        "/v1/portals/tt_portal/availability",
        params={"service": "CLEAN", "from": "2026-11-24", "to": "2026-11-24"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["portal"], body["service"], body["from"], body["to"]) == (
        "tt_portal",
        "CLEAN",
        "2026-11-24T00:00:00Z",
        "2026-11-25T00:00:00Z",
    )
    (member,) = body["members"]
    assert member["name"] == "tt_a"
    assert sorted(member["services"]) == ["LIMP", "L_2"]
    # LX2 is not L_2: codes are matched whole, never as LIKE patterns.
    assert [s["start"] for s in member["slots"]] == [
        "2026-11-24T09:00:00Z",
        "2026-11-24T11:00:00Z",
        "2026-11-24T13:00:00Z",
    ]
    outside = await api.get(
        "/v1/portals/tt_portal/availability",
        params={"service": "CLEAN", "from": "2026-11-25", "to": "2026-11-30"},
    )
    assert outside.json()["members"] == []
    unknown = await api.get("/v1/portals/tt_portal/availability", params={"service": "NOPE"})
    assert unknown.status_code == 200
    assert unknown.json()["members"] == []
    too_long = {"service": "CLEAN", "from": "2026-11-01", "to": "2027-02-01"}
    assert_problem(
        await api.get("/v1/portals/tt_portal/availability", params=too_long), 422, "validation-error"
    )
    backwards = {"service": "CLEAN", "from": "2026-11-05", "to": "2026-11-01"}
    assert_problem(
        await api.get("/v1/portals/tt_portal/availability", params=backwards), 422, "validation-error"
    )
    assert_problem(
        await api.get("/v1/portals/tt_a/availability", params={"service": "CLEAN"}), 404, "not-found"
    )


async def test_imported_lists_filters_pages_and_scopes(app, api, make_client):
    await create_instance(api, "tt_x")
    instance_id = await _id(app, "tt_x")
    async with app.state.engine.begin() as connection:
        await connection.execute(
            insert(GesdentResource),
            [
                {
                    "instance_id": instance_id,
                    "gesdent_id": "RES-1",
                    "name": "Dra. Ruiz",
                    "kind": "dentist",
                    "active": True,
                    "remote_updated_at": "2026-11-20T08:00:00Z",
                }
            ],
        )
        await connection.execute(
            insert(GesdentPatient),
            [
                {
                    "instance_id": instance_id,
                    "gesdent_id": f"P-{i}",
                    "first_name": "Lucía",
                    "last_name": "García",
                    "deleted": False,
                    "remote_updated_at": "2026-11-20T08:00:00Z",
                }
                for i in range(3)
            ],
        )
        await connection.execute(
            insert(GesdentReservation),
            [
                {
                    "instance_id": instance_id,
                    "gesdent_id": f"R-{i}",
                    "resource_id": "RES-1",
                    "user_id": "P-1",
                    "treatment_code": "LIMP",
                    "starts_at": DAY + timedelta(days=i),
                    "ends_at": DAY + timedelta(days=i, minutes=30),
                    "status": "cancelled" if i == 2 else "booked",
                    "remote_updated_at": "2026-11-20T08:00:00Z",
                }
                for i in range(5)
            ],
        )
    resources = (await api.get("/v1/instances/tt_x/resources")).json()["items"]
    assert resources == [
        {
            "id": "RES-1",
            "name": "Dra. Ruiz",
            "kind": "dentist",
            "active": True,
            "updated_at": "2026-11-20T08:00:00Z",
        }
    ]
    patients = (await api.get("/v1/instances/tt_x/patients")).json()["items"]
    assert [p["id"] for p in patients] == ["P-0", "P-1", "P-2"]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "from": "2026-11-25", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/instances/tt_x/reservations", params=params)).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["R-1", "R-2", "R-3", "R-4"]
    booked = await api.get("/v1/instances/tt_x/reservations", params={"status": "cancelled"})
    assert [r["id"] for r in booked.json()["items"]] == ["R-2"]
    no_patients = await make_client(["instances:read", "sync:read"], partner_id=api.partner_id)
    assert_problem(await no_patients.get("/v1/instances/tt_x/patients"), 403, "missing-scope")
    assert (await no_patients.get("/v1/instances/tt_x/reservations")).status_code == 200
    bad = {"cursor": "WyJub3QgYSBkYXRlIiwgIngiXQ"}
    assert_problem(await api.get("/v1/instances/tt_x/reservations", params=bad), 422, "invalid-cursor")
    assert_problem(
        await api.get("/v1/instances/tt_x/availability", params={"resource": "lower"}),
        422,
        "validation-error",
    )
