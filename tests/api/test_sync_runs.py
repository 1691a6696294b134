"""Sync runs through the API: trigger, one active run, list, read, status. The old importer's URL:
tests/api/test_legacy.py; the GESDENT webhook: tests/api/test_webhooks.py."""

from tests.conftest import assert_problem, configure_gesdent, create_instance


async def test_trigger_returns_the_active_run(api):
    await configure_gesdent(api)
    first = await api.post("/v1/instances/tt_c/sync-runs", json={"full_refresh": True})
    assert first.status_code == 202, first.text
    run = first.json()
    assert (run["status"], run["trigger"], run["full_refresh"], run["instance"]) == (
        "queued",
        "manual",
        True,
        "tt_c",
    )
    assert first.headers["location"] == f"/v1/sync-runs/{run['id']}"
    again = await api.post("/v1/instances/tt_c/sync-runs")
    assert again.status_code == 200
    assert again.json()["id"] == run["id"]
    assert (await api.get(f"/v1/sync-runs/{run['id']}")).json()["status"] == "queued"
    listed = (await api.get("/v1/instances/tt_c/sync-runs")).json()
    assert [r["id"] for r in listed["items"]] == [run["id"]]
    status = (await api.get("/v1/instances/tt_c/sync-status")).json()
    assert status["configured"] is True
    assert status["active_run"]["id"] == run["id"]
    assert status["last_success"] is None
    assert status["next_scheduled_at"].endswith("Z")


async def test_not_configured_and_unknown(api, other):
    await create_instance(api, "tt_c")
    assert_problem(await api.post("/v1/instances/tt_c/sync-runs"), 409, "gesdent-not-configured")
    assert_problem(await api.post("/v1/instances/tt_none/sync-runs"), 404, "not-found")
    assert_problem(await api.get("/v1/sync-runs/01a1ff51-c028-7076-b35e-6d2c56bfe716"), 404, "not-found")
    await configure_gesdent(api, "tt_d")
    run = (await api.post("/v1/instances/tt_d/sync-runs")).json()
    assert_problem(await other.get(f"/v1/sync-runs/{run['id']}"), 404, "not-found")
    assert_problem(
        await api.post("/v1/instances/tt_d/sync-runs", json={"full_refresh": "yes"}), 422, "validation-error"
    )


async def test_scopes(api, make_client):
    await configure_gesdent(api)
    reader = await make_client(["sync:read"], partner_id=api.partner_id)
    assert_problem(await reader.post("/v1/instances/tt_c/sync-runs"), 403, "missing-scope")
    assert (await reader.get("/v1/instances/tt_c/sync-status")).status_code == 200
    runner = await make_client(["sync:run"], partner_id=api.partner_id)
    assert_problem(await runner.get("/v1/instances/tt_c/sync-runs"), 403, "missing-scope")
