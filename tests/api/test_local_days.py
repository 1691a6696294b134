"""Date filters on imported reservations and availability mean the clinic's local days, and times come
on its clock: checked on the days the clocks change (the last Sundays of March and October 2027),
with data imported from GESDENT sandboxes whose clinics are open round the clock in their zone."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from app.db.models import Instance
from gesdent_sandbox import SandboxConfig
from gesdent_sandbox.availability import free_slots
from tests.conftest import assert_problem, create_instance
from tests.sync.importing import run
from tests.sync.sandbox_server import SandboxServer, start_sandbox

SPRING, AUTUMN = date(2027, 3, 28), date(2027, 10, 31)
# Open every day, 00:00 to 24:00 local: slots on both sides of midnight and of the change of the clocks.
ROUND_THE_CLOCK = {"opening_hours": (0, 24), "open_days": 7, "resources": 1, "patients": 20}


def _sandbox(time_zone: str, day: date) -> SandboxServer:
    # `today` a few days before `day`: the import's 14-day window reaches it, and reservations too.
    config = SandboxConfig(
        time_zone=time_zone, today=day - timedelta(days=4), reservations=800, **ROUND_THE_CLOCK
    )
    return start_sandbox(config)


async def _imported(app, api, name: str, time_zone: str, day: date) -> SandboxServer:
    """An instance `name` in `time_zone` with all a sandbox clinic in that zone serves around `day`."""
    await create_instance(api, name, time_zone=time_zone)
    async with app.state.sessionmaker() as session:
        instance_id = (
            await session.execute(select(col(Instance.id)).where(col(Instance.name) == name))
        ).scalar_one()
    server = _sandbox(time_zone, day)
    result = await run(app, instance_id, server)
    assert result.status == "succeeded", result
    return server


async def _all(api, url, **params):
    response = await api.get(url, params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return response.json()["items"]


def _on(day: date, starts) -> list[str]:
    """The starts (local RFC 3339, as the sandbox wrote them) that fall on local day `day`, in the
    order of time (not of text: on the autumn day 02:30+02:00 comes before 02:00+01:00)."""
    return sorted((s for s in starts if s.startswith(day.isoformat())), key=datetime.fromisoformat)


@pytest.mark.parametrize(
    ("day", "hours", "offsets"),
    [(SPRING, 23, ("+01:00", "+02:00")), (AUTUMN, 25, ("+02:00", "+01:00"))],
)
async def test_a_day_filter_returns_the_slots_and_reservations_of_that_local_day(
    app, api, day, hours, offsets
):
    server = await _imported(app, api, "tt_madrid", "Europe/Madrid", day)
    try:
        dataset = server.sandbox.dataset
        assert dataset.calendar.clock.slots_on(day) == 2 * hours  # the sandbox's own 23 or 25 hours
        resource = dataset.resource_ids[0]
        offered = _on(
            day, (s["start"] for s in free_slots(dataset, resource, day - timedelta(1), day + timedelta(1)))
        )
        booked = _on(day, (r["start"] for r in dataset.tables.reservation_by_id.values()))
    finally:
        server.stop()
    # Slots in the first and the last hour of the local day: a day of UTC would lose or add some.
    assert offered[0] < f"{day}T01:00"
    assert offered[-1] > f"{day}T22:00"
    # Each side of the change: summer or winter offset first, the other one after.
    assert (offered[0][-6:], offered[-1][-6:]) == offsets
    assert booked
    filters = {"from": day.isoformat(), "to": day.isoformat()}
    slots = await _all(api, "/v1/instances/tt_madrid/availability", **filters)
    assert [s["start"] for s in slots] == offered
    assert {s["time_zone"] for s in slots} == {"Europe/Madrid"}
    for slot in slots:  # each end is half an hour of real time after its start, across the change too
        end, start = datetime.fromisoformat(slot["end"]), datetime.fromisoformat(slot["start"])
        assert end - start == timedelta(minutes=30)
    reservations = await _all(api, "/v1/instances/tt_madrid/reservations", **filters)
    assert sorted((r["start"] for r in reservations), key=datetime.fromisoformat) == booked
    assert {r["time_zone"] for r in reservations} == {"Europe/Madrid"}
    # `from` alone and `to` alone cut at the same local midnights.
    later = await _all(api, "/v1/instances/tt_madrid/availability", **{"from": day.isoformat()})
    assert min(s["start"] for s in later) == offered[0]
    earlier = await _all(api, "/v1/instances/tt_madrid/availability", to=day.isoformat())
    assert max(s["start"] for s in earlier) == offered[-1]


@pytest.mark.parametrize(("day", "hours"), [(SPRING, 23), (AUTUMN, 25)])
async def test_two_clinics_one_date_each_its_own_day(app, api, day, hours):
    """The same date is another span of instants in Atlantic/Canary, an hour behind Madrid."""
    servers = [
        await _imported(app, api, "tt_madrid", "Europe/Madrid", day),
        await _imported(app, api, "tt_canary", "Atlantic/Canary", day),
    ]
    try:
        expected = [
            _on(
                day,
                (
                    s["start"]
                    for s in free_slots(d, d.resource_ids[0], day - timedelta(1), day + timedelta(1))
                ),
            )
            for d in (server.sandbox.dataset for server in servers)
        ]
    finally:
        for server in servers:
            server.stop()
    filters = {"from": day.isoformat(), "to": day.isoformat()}
    madrid = await _all(api, "/v1/instances/tt_madrid/availability", **filters)
    canary = await _all(api, "/v1/instances/tt_canary/availability", **filters)
    assert [s["start"] for s in madrid] == expected[0]
    assert [s["start"] for s in canary] == expected[1]
    assert {s["start"][-6:] for s in canary} == {"+00:00", "+01:00"}
    # Canary's day starts an hour after Madrid's, in instants: their first slots differ by an hour.
    first = [datetime.fromisoformat(items[0]["start"]) for items in (madrid, canary)]
    assert first[0].date() == first[1].date() == day
    spans = [
        datetime.fromisoformat(i[-1]["end"]) - datetime.fromisoformat(i[0]["start"]) for i in (madrid, canary)
    ]
    assert all(span <= timedelta(hours=hours) for span in spans)


@pytest.mark.parametrize("what", ["reservations", "availability"])
async def test_the_days_are_checked_before_the_instance_is_looked_up(api, what):
    """The zone is the instance's, yet a malformed span is a 422 even for an instance that is not
    there: the days are parsed first, the zone applied once the instance is loaded."""
    backwards = {"from": "2027-03-29", "to": "2027-03-28"}
    problem = assert_problem(
        await api.get(f"/v1/instances/tt_nowhere/{what}", params=backwards), 422, "validation-error"
    )
    assert problem["errors"] == [{"field": "query.to", "message": "before from"}]
    assert_problem(
        await api.get(f"/v1/instances/tt_nowhere/{what}", params={"from": "28/03/2027"}),
        422,
        "validation-error",
    )
    assert_problem(
        await api.get(f"/v1/instances/tt_nowhere/{what}", params={"from": "2027-03-28"}), 404, "not-found"
    )
