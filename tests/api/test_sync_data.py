"""The data the sync keeps from GESDENT, through the API. The portal's search across its members:
tests/api/test_portal_availability.py."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlmodel import col

from app.db.models import GesdentPatient, GesdentReservation, GesdentResource, Instance
from tests.conftest import assert_problem, create_instance

DAY = datetime(2026, 11, 24, tzinfo=UTC)


async def _id(app, name):
    async with app.state.sessionmaker() as session:
        return (
            await session.execute(select(col(Instance.id)).where(col(Instance.name) == name))
        ).scalar_one()


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
