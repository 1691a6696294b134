"""A mapping POST racing a services CSV import (`mode=replace`) that deletes its target: never a 500,
and the invariants hold afterwards (checked with SQL, not with the API's own answers)."""

import asyncio

import pytest
from sqlalchemy import text

from tests.conftest import add_member, assert_problem, create_portal

ROUNDS = 30
CSV = {"content-type": "text/csv"}
KEEP = "code,name,duration_minutes\nKEEP,Kept,30\n"


async def _rows(app, sql):
    async with app.state.engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(text(sql))).all()]


async def test_mapping_post_racing_a_replace_import_of_the_portal(app, api):
    await create_portal(api, "tt_portal")
    await add_member(api, "tt_portal", "tt_member")
    await api.post("/v1/instances/tt_portal/services/import", content=KEEP, headers=CSV)
    failures = []
    for index in range(ROUNDS):
        target, source = f"P{index}", f"M{index}"
        for instance, code in (("tt_portal", target), ("tt_member", source)):
            created = await api.post(
                f"/v1/instances/{instance}/services",
                json={"code": code, "name": code, "duration_minutes": 30},
            )
            assert created.status_code == 201, created.text
        cascade = index % 2 == 0
        imported, mapped = await asyncio.gather(
            api.post(
                "/v1/instances/tt_portal/services/import",
                params={"mode": "replace", "cascade": cascade},
                content=KEEP,
                headers=CSV,
            ),
            api.post(
                "/v1/portals/tt_portal/members/tt_member/mappings",
                json={"member_service": source, "portal_service": target},
            ),
        )
        for response in (imported, mapped):
            if response.status_code >= 500:
                failures.append(f"round {index}: {response.status_code} {response.text}")
            elif response.status_code >= 400:
                assert response.headers["content-type"].startswith("application/problem+json")
        # The import went first (the target is gone: 422 naming it), or the mapping did (the import
        # then cascades, or refuses with service-mapped), or the loser is told to retry (409).
        assert imported.status_code in (200, 409), imported.text
        assert mapped.status_code in (201, 409, 422), mapped.text
        if mapped.status_code == 422:
            assert f"has no service {target}" in mapped.text, mapped.text
        if imported.status_code == 409:
            assert imported.json()["type"] in ("/problems/service-mapped", "/problems/concurrent-change")
        if mapped.status_code == 409:
            assert mapped.json()["type"] == "/problems/concurrent-change", mapped.text
        # Invariants: nothing points at a deleted service, and the answers tell what happened.
        dangling = await _rows(
            app,
            "SELECT m.member_service_id FROM mappings m LEFT JOIN services s ON s.id = m.portal_service_id "
            "WHERE s.id IS NULL",
        )
        assert dangling == []
        portal_codes = {
            code
            for (code,) in await _rows(
                app,
                "SELECT s.code FROM services s JOIN instances i ON i.id = s.instance_id "
                "WHERE i.name = 'tt_portal'",
            )
        }
        mappings = await _rows(
            app,
            "SELECT ms.code, ps.code FROM mappings m JOIN services ms ON ms.id = m.member_service_id "
            "JOIN services ps ON ps.id = m.portal_service_id",
        )
        assert portal_codes == ({"KEEP"} if imported.status_code == 200 else {"KEEP", target})
        assert mappings == (
            [(source, target)] if mapped.status_code == 201 and target in portal_codes else []
        )
        if imported.status_code == 200:
            assert imported.json()["removed_mappings"] == (1 if mapped.status_code == 201 else 0)
        else:  # start the next round as this one started: the portal has KEEP only, nothing is mapped
            cleared = await api.delete(f"/v1/instances/tt_portal/services/{target}", params={"cascade": True})
            assert cleared.status_code == 200, cleared.text
    assert not failures, "\n".join(failures)


async def test_a_constraint_failing_at_commit_is_a_409_problem(app, api, backend):
    """The shared commit's safety net, for writers that do not take the locks: a deferred foreign
    key that fails at COMMIT is a 409 `concurrent-change`, and nothing of the request is written."""
    if backend != "postgres":
        pytest.skip("SQLite runs one writer at a time (BEGIN IMMEDIATE): this interleaving cannot happen")
    await create_portal(api, "tt_portal")
    await add_member(api, "tt_portal", "tt_member")
    for instance in ("tt_portal", "tt_member"):
        created = await api.post(
            f"/v1/instances/{instance}/services", json={"code": "S", "name": "S", "duration_minutes": 30}
        )
        assert created.status_code == 201, created.text
    async with app.state.engine.connect() as writer:
        # Another writer deletes the target and has not committed yet: the mapping POST still sees it.
        await writer.execute(
            text(
                "DELETE FROM services WHERE code = 'S' AND instance_id = "
                "(SELECT id FROM instances WHERE name = 'tt_portal')"
            )
        )
        request = asyncio.create_task(
            api.post(
                "/v1/portals/tt_portal/members/tt_member/mappings",
                json={"member_service": "S", "portal_service": "S"},
            )
        )
        await _until_a_request_waits_on_a_lock(app)  # its COMMIT checks the foreign key, and waits
        await writer.commit()
        response = await request
    body = assert_problem(response, 409, "concurrent-change")
    assert "nothing of this request was written" in body["detail"]
    assert await _rows(app, "SELECT member_service_id FROM mappings") == []


async def _until_a_request_waits_on_a_lock(app):
    for _ in range(200):
        waiting = await _rows(
            app,
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the mapping POST never waited on the other writer's lock")
