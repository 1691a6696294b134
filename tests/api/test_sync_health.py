"""GET /v1/sync-health: the partner's counts per state, its instances most overdue first, filters,
pages, and nobody else's instances. Outcomes are recorded by the function a run's `finish` calls,
at chosen moments; real runs against the sandbox are in tests/sync/test_health.py."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from app.db.models import Instance, utcnow
from app.domain.gesdent import STREAMS
from app.sync import health
from tests.api.test_metrics import scrape
from tests.api.test_pages import as_browser
from tests.conftest import (
    GESDENT_RULES,
    add_member,
    assert_problem,
    configure_gesdent,
    create_instance,
    create_portal,
)


@pytest.fixture
def now() -> datetime:
    """The test's moment: outcomes are recorded whole minutes before it."""
    return utcnow()


async def record(app, now, name, *outcomes):
    """Record run outcomes of `name` (status, minutes ago), oldest first, as `finish` does."""
    async with app.state.sessionmaker() as session:
        named = select(col(Instance.id)).where(col(Instance.name) == name)
        instance_id = (await session.execute(named)).scalar_one()
        for status, minutes_ago in outcomes:
            failed_stream = None if status == "succeeded" else "availability"
            counts: dict[str, dict[str, int]] = {stream: {"fetched": 1} for stream in STREAMS}
            await health.record_outcome(
                session,
                instance_id,
                status=status,
                streams=STREAMS,
                counts=counts,
                failed_stream=failed_stream,
                error=None if status == "succeeded" else "availability stream failed: HTTP 503",
                at=now - timedelta(minutes=minutes_ago),
            )
        await session.commit()


async def fleet(app, api, now):
    """Instances in every state (rules: every 15 minutes, so stale after 45):
    tt_c failing for 100 minutes, tt_a stale for 75, tt_b stale for 5, tt_d and tt_e fresh (stale in
    35 and 44 minutes), tt_f disabled, tt_g without rules, tt_h never run."""
    for name in ("tt_a", "tt_b", "tt_c", "tt_d", "tt_e", "tt_h"):
        await configure_gesdent(api, name)
    await create_instance(api, "tt_f")
    disabled = await api.put("/v1/instances/tt_f/gesdent", json={**GESDENT_RULES, "enabled": False})
    assert disabled.status_code == 201, disabled.text
    await create_instance(api, "tt_g")
    await record(app, now, "tt_a", ("succeeded", 120))
    await record(app, now, "tt_b", ("succeeded", 50))
    await record(app, now, "tt_c", ("succeeded", 120), ("partial", 100), ("failed", 90))
    await record(app, now, "tt_d", ("succeeded", 10))
    await record(app, now, "tt_e", ("failed", 30), ("succeeded", 1))
    await record(app, now, "tt_f", ("succeeded", 500))


async def names(api, **params):
    response = await api.get("/v1/sync-health", params=params)
    assert response.status_code == 200, response.text
    return [item["instance"] for item in response.json()["items"]]


async def test_counts_and_order_most_overdue_first(app, api, now):
    await fleet(app, api, now)
    response = await api.get("/v1/sync-health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["counts"] == {"fresh": 2, "stale": 2, "failing": 1, "disabled": 1, "never": 2}
    items = body["items"]
    assert [i["instance"] for i in items] == ["tt_c", "tt_a", "tt_b", "tt_d", "tt_e", "tt_f", "tt_g", "tt_h"]
    assert [i["state"] for i in items] == [
        "failing", "stale", "stale", "fresh", "fresh", "disabled", "never", "never"
    ]  # fmt: skip
    assert [i["overdue_minutes"] for i in items] == [100, 75, 5, 0, 0, None, None, None]
    failing, stale = items[0], items[1]
    assert failing["last_error"]["error"] == "availability stream failed: HTTP 503"
    assert failing["streams"]["availability"]["state"] == "failing"
    assert failing["streams"]["users"]["state"] == "stale"  # committed 90 minutes ago: past its 45
    assert (stale["stale_after_minutes"], stale["stale_after_default"]) == (45, True)
    assert stale["since"] is not None
    assert set(stale["streams"]) == set(STREAMS)
    never = items[-2]
    assert (never["stale_after_minutes"], never["last_success_at"], never["last_error"]) == (None, None, None)
    assert {s["state"] for s in never["streams"].values()} == {"never"}
    assert not body["next_cursor"]


async def test_filter_by_one_or_several_states(app, api, now):
    await fleet(app, api, now)
    assert await names(api, state="stale") == ["tt_a", "tt_b"]
    assert await names(api, state=["failing", "stale"]) == ["tt_c", "tt_a", "tt_b"]
    assert await names(api, state="never") == ["tt_g", "tt_h"]
    filtered = (await api.get("/v1/sync-health", params={"state": "fresh"})).json()
    # The counts are the partner's whole fleet, whatever the filter.
    assert filtered["counts"]["never"] == 2
    assert_problem(await api.get("/v1/sync-health", params={"state": "ok"}), 422, "validation-error")


async def test_pages_follow_the_order(app, api, now):
    await fleet(app, api, now)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = await api.get("/v1/sync-health", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["instance"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            break
        assert response.headers["link"].endswith('rel="next"')
    assert pages == 3
    assert seen == ["tt_c", "tt_a", "tt_b", "tt_d", "tt_e", "tt_f", "tt_g", "tt_h"]
    # Filtered pages too.
    first = (await api.get("/v1/sync-health", params={"state": ["stale", "failing"], "limit": 2})).json()
    rest = await api.get(
        "/v1/sync-health", params={"state": ["stale", "failing"], "limit": 2, "cursor": first["next_cursor"]}
    )
    assert [i["instance"] for i in first["items"] + rest.json()["items"]] == ["tt_c", "tt_a", "tt_b"]


async def test_another_partners_instances_are_never_visible(app, api, other, admin, now):
    await fleet(app, api, now)
    await configure_gesdent(other, "tt_theirs")
    body = (await other.get("/v1/sync-health")).json()
    assert body["counts"] == {"fresh": 0, "stale": 0, "failing": 0, "disabled": 0, "never": 1}
    assert [i["instance"] for i in body["items"]] == ["tt_theirs"]
    assert "tt_theirs" not in await names(api)
    # A cursor of one partner's list gives the other nothing of the first's.
    cursor = (await api.get("/v1/sync-health", params={"limit": 1})).json()["next_cursor"]
    theirs = await other.get("/v1/sync-health", params={"limit": 1, "cursor": cursor})
    assert all(i["instance"] == "tt_theirs" for i in theirs.json()["items"])
    # The master key administers partners only, as on every partner-scoped list.
    assert_problem(await admin.get("/v1/sync-health"), 403, "master-key-not-allowed")


async def test_the_scope_is_sync_read(make_client):
    reader = await make_client(["instances:read"])
    assert_problem(await reader.get("/v1/sync-health"), 403, "missing-scope")
    syncer = await make_client(["sync:read"])
    assert (await syncer.get("/v1/sync-health")).status_code == 200


async def test_stale_after_minutes_in_the_rules(api):
    await configure_gesdent(api, "tt_rules")
    rules = (await api.get("/v1/instances/tt_rules/gesdent")).json()
    assert (rules["stale_after_minutes"], rules["stale_after_default"]) == (45, True)
    put = await api.put(
        "/v1/instances/tt_rules/gesdent",
        json={**GESDENT_RULES, "interval_minutes": 5, "stale_after_minutes": 12},
    )
    assert (put.json()["stale_after_minutes"], put.json()["stale_after_default"]) == (12, False)
    put = await api.put("/v1/instances/tt_rules/gesdent", json={**GESDENT_RULES, "interval_minutes": 5})
    assert (put.json()["stale_after_minutes"], put.json()["stale_after_default"]) == (15, True)
    bad = await api.put("/v1/instances/tt_rules/gesdent", json={**GESDENT_RULES, "stale_after_minutes": 0})
    assert_problem(bad, 422, "validation-error")


async def test_sync_status_shows_the_health(app, api, now):
    await configure_gesdent(api, "tt_status")
    await record(app, now, "tt_status", ("succeeded", 60), ("partial", 3))
    health_of = (await api.get("/v1/instances/tt_status/sync-status")).json()["health"]
    assert health_of["state"] == "failing"
    assert health_of["since"] == (now - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    assert health_of["streams"]["availability"]["state"] == "failing"
    assert health_of["streams"]["resources"]["state"] == "fresh"  # committed in the partial run
    assert (health_of["stale_after_minutes"], health_of["stale_after_default"]) == (45, True)


async def test_the_report_shows_each_members_health(app, api, now):
    await create_portal(api, "tt_portal")
    for member in ("tt_m1", "tt_m2", "tt_m3"):
        await add_member(api, "tt_portal", member)
    for member in ("tt_m1", "tt_m2"):
        assert (await api.put(f"/v1/instances/{member}/gesdent", json=GESDENT_RULES)).status_code == 201
    await record(app, now, "tt_m1", ("succeeded", 2))
    await record(app, now, "tt_m2", ("failed", 2))
    report = (await api.get("/v1/portals/tt_portal/report")).json()
    assert {m["name"]: m["health"] for m in report["members"]} == {
        "tt_m1": "fresh",
        "tt_m2": "failing",
        "tt_m3": "never",
    }
    text = (await api.get("/v1/portals/tt_portal/report", headers={"Accept": "text/csv"})).text
    header, *rows = text.strip().split("\r\n")
    assert header.split(",")[-1] == "health"
    assert sorted(row.split(",")[-1] for row in rows) == ["failing", "fresh", "never"]
    page = await api.get("/v1/portals/tt_portal/report", headers=as_browser(api))
    assert page.headers["content-type"].startswith("text/html")
    assert '<span class="badge health-failing">failing</span>' in page.text
    assert "sync health: fresh" in page.text


async def test_the_gauge_counts_instances_by_state(app, api, other, now):
    await fleet(app, api, now)
    await create_instance(other, "tt_theirs")
    scraped = await scrape(app)
    values = {state: scraped.value("portico_sync_health_instances", state=state) for state in
              ("fresh", "stale", "failing", "disabled", "never")}  # fmt: skip
    assert values == {"fresh": 2, "stale": 2, "failing": 1, "disabled": 1, "never": 3}
    assert all("tt_" not in value for value in scraped.label_values())


async def test_a_clone_with_the_rules_is_disabled_like_them(api):
    await configure_gesdent(api, "tt_model")
    body = {"name": "tt_copy", "include": ["gesdent"]}
    assert (await api.post("/v1/instances/tt_model/clone", json=body)).status_code == 201
    status = (await api.get("/v1/instances/tt_copy/sync-status")).json()
    assert status["health"]["state"] == "disabled"
    assert {s["state"] for s in status["health"]["streams"].values()} == {"disabled"}
