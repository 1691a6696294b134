"""A run's availability window starts on the clinic's today, in its time zone, not on the server's."""

from datetime import UTC, datetime, timedelta

from app.domain.time_zones import today, zone
from gesdent_sandbox.availability import free_slots
from tests.conftest import create_instance
from tests.sync.test_end_to_end import rules_for, sync_now

# At any moment one of these two is on another date than UTC: UTC+14 from 10:00 UTC, UTC-11 before 11:00.
FAR_EAST, FAR_WEST = "Pacific/Kiritimati", "Pacific/Pago_Pago"


async def test_the_window_starts_on_the_clinics_today(app, api, make_sandbox):
    now = datetime.now(UTC)
    name = next(n for n in (FAR_EAST, FAR_WEST) if today(zone(n), now=now) != now.date())
    local_today = today(zone(name), now=now)
    server = make_sandbox(today=local_today, time_zone=name, opening_hours=(0, 24), open_days=7, resources=1)
    await create_instance(api, "tt_far", time_zone=name)
    rules = rules_for(server)
    assert (await api.put("/v1/instances/tt_far/gesdent", json=rules)).status_code == 201
    run = await sync_now(app, api, "tt_far")
    assert run["status"] == "succeeded", run
    dataset = server.sandbox.dataset
    last = local_today + timedelta(days=rules["window_days"])
    expected = [s["start"] for s in free_slots(dataset, dataset.resource_ids[0], local_today, last)]
    imported, cursor = [], None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/instances/tt_far/availability", params=params)).json()
        imported += [s["start"] for s in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert imported == expected
    assert imported[0].startswith(local_today.isoformat())
    assert imported[-1].startswith(last.isoformat())
