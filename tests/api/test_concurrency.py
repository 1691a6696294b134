"""Invariants hold under concurrent requests: proved with SQL, not with the API's own answers."""

import asyncio

from sqlalchemy import text

from tests.conftest import create_instance, create_portal


async def _count(app, sql, **params):
    async with app.state.engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar_one()


async def test_one_instance_added_to_two_portals_by_60_requests(app, api):
    await create_portal(api, "tt_portal_a")
    await create_portal(api, "tt_portal_b")
    await create_instance(api, "tt_contested")
    requests = [
        api.post(f"/v1/portals/{portal}/members", json={"instance": "tt_contested"})
        for _ in range(30)
        for portal in ("tt_portal_a", "tt_portal_b")
    ]
    responses = await asyncio.gather(*requests)
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) == {201, 409}, statuses
    assert {r.json()["type"] for r in responses if r.status_code == 409} == {"/problems/already-member"}
    memberships = await _count(
        app,
        "SELECT count(*) FROM memberships m JOIN instances i ON i.id = m.member_id WHERE i.name = :name",
        name="tt_contested",
    )
    assert memberships == 1


async def test_concurrent_creates_of_one_name_make_one_instance(app, api, other):
    requests = [
        client.post("/v1/instances", json={"name": "tt_race"}) for _ in range(25) for client in (api, other)
    ]
    statuses = sorted(r.status_code for r in await asyncio.gather(*requests))
    assert statuses.count(201) == 1, statuses
    assert set(statuses) == {201, 409}, statuses
    assert await _count(app, "SELECT count(*) FROM instances WHERE name = 'tt_race'") == 1


async def test_switching_on_communications_races_with_adding_members(app, api):
    """Invariant 2 under races: whatever wins, a portal with members never ends with communications on."""
    await create_portal(api, "tt_portal")
    for i in range(10):
        await create_instance(api, f"tt_m{i}")
    requests = [api.post("/v1/portals/tt_portal/members", json={"instance": f"tt_m{i}"}) for i in range(10)]
    requests += [api.put("/v1/instances/tt_portal/communications", json={"enabled": True}) for _ in range(10)]
    responses = await asyncio.gather(*requests)
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses if r.status_code >= 500]
    members = await _count(
        app,
        "SELECT count(*) FROM memberships m JOIN instances p ON p.id = m.portal_id "
        "WHERE p.name = 'tt_portal'",
    )
    enabled = await _count(app, "SELECT comms_enabled FROM instances WHERE name = 'tt_portal'")
    assert not (members > 0 and enabled), (members, enabled)


async def test_conflicting_mappings_from_60_requests(app, api):
    """Invariant 5 under a storm: each member service ends with exactly one target."""
    await create_portal(api, "tt_portal")
    await create_instance(api, "tt_m1")
    await api.post("/v1/portals/tt_portal/members", json={"instance": "tt_m1"})
    targets = ["P1", "P2", "P3"]
    for code in targets:
        await api.post(
            "/v1/instances/tt_portal/services", json={"code": code, "name": code, "duration_minutes": 30}
        )
    for code in ["M1", "M2"]:
        await api.post(
            "/v1/instances/tt_m1/services", json={"code": code, "name": code, "duration_minutes": 30}
        )
    url = "/v1/portals/tt_portal/members/tt_m1/mappings"
    attempts = [(member, target) for _ in range(10) for member in ("M1", "M2") for target in targets]
    requests = [api.post(url, json={"member_service": m, "portal_service": t}) for m, t in attempts]
    responses = await asyncio.gather(*requests)
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 201, 409}, [r.text for r in responses if r.status_code >= 500]
    assert statuses.count(201) == 2, statuses
    conflicts = [r.json() for r in responses if r.status_code == 409]
    assert conflicts
    assert {c["type"] for c in conflicts} == {"/problems/already-mapped"}
    targets_per_service = await _rows(
        app,
        "SELECT s.code, count(*) FROM mappings m "
        "JOIN services s ON s.id = m.member_service_id GROUP BY s.code",
    )
    assert sorted(targets_per_service) == [("M1", 1), ("M2", 1)]
    # Every 409 named the target that won.
    winners = dict(
        await _rows(
            app,
            "SELECT ms.code, ps.code FROM mappings m JOIN services ms ON ms.id = m.member_service_id "
            "JOIN services ps ON ps.id = m.portal_service_id",
        )
    )
    for (member, target), response in zip(attempts, responses, strict=True):
        if response.status_code == 409:
            assert response.json()["existing_portal_service"] == winners[member] != target
        else:
            assert winners[member] == target


async def _rows(app, sql):
    async with app.state.engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(text(sql))).all()]
