"""GET /v1/portals/{portal}/availability and its summary, on data a worker imported from the GESDENT
sandbox over HTTP (never inserted by hand): several services at once, web-disabled and unmapped
services left out, stale and failing members flagged and filtered, every explanation reachable, pages
that neither repeat nor skip a member while syncs change slots, and nobody else's portal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlmodel import col

from app.db.models import Instance
from app.domain.gesdent import STREAMS
from app.sync import health
from tests.conftest import add_member, assert_problem, create_portal
from tests.sync.conftest import TEST_CONFIG
from tests.sync.sandbox_server import SandboxServer, start_sandbox
from tests.sync.test_end_to_end import rules_for, sync_now

URL = "/v1/portals/tt_portal/availability"


@pytest.fixture(scope="module")
def gesdent() -> Iterator[SandboxServer]:
    """A small sandbox of three agendas: each member imports some of them."""
    server = start_sandbox(TEST_CONFIG, patients=20, reservations=120, resources=3)
    yield server
    server.stop()


async def _service(api, instance, code, *, web=True, maps_to=None):
    body = {"code": code, "name": code, "duration_minutes": 30, "web_enabled": web}
    assert (await api.post(f"/v1/instances/{instance}/services", json=body)).status_code == 201
    if maps_to:
        url = f"/v1/portals/tt_portal/members/{instance}/mappings"
        mapped = await api.post(url, json={"member_service": code, "portal_service": maps_to})
        assert mapped.status_code == 201, mapped.text


async def _synced(app, api, gesdent, name, resources):
    rules = {**rules_for(gesdent), "resource_ids": [gesdent.resource_ids[i] for i in resources]}
    assert (await api.put(f"/v1/instances/{name}/gesdent", json=rules)).status_code == 201
    run = await sync_now(app, api, name)
    assert run["status"] == "succeeded", run


async def record_success(app, name, at):
    """Record a success of `name` at `at`, as a run's `finish` does (through `app`'s database); its id."""
    async with app.state.sessionmaker() as session:
        found = select(col(Instance.id)).where(col(Instance.name) == name)
        instance_id = (await session.execute(found)).scalar_one()
        await health.record_outcome(
            session,
            instance_id,
            status="succeeded",
            streams=STREAMS,
            counts={stream: {"fetched": 1} for stream in STREAMS},
            failed_stream=None,
            error=None,
            at=at,
        )
        await session.commit()
    return instance_id


async def _succeeded_long_ago(app, name):
    """Record a success of `name` three hours ago: its data is stale."""
    await record_success(app, name, datetime.now(UTC) - timedelta(hours=3))


async def build(app, api, gesdent):
    """A portal (services CLEAN and WHITE) and members, one per case the search must tell apart."""
    gesdent.control.reset()
    await create_portal(api, "tt_portal")
    await _service(api, "tt_portal", "CLEAN")
    await _service(api, "tt_portal", "WHITE")
    for name in ("tt_north", "tt_south", "tt_east", "tt_stale", "tt_failing", "tt_nocode"):
        await add_member(api, "tt_portal", name)
    for name in ("tt_hidden", "tt_unmapped", "tt_nosync"):
        await add_member(api, "tt_portal", name)
    assert (await api.patch("/v1/instances/tt_south", json={"member_code": "S01"})).status_code == 200
    await _service(api, "tt_north", "LIMP", maps_to="CLEAN")
    await _service(api, "tt_north", "BLANQ", maps_to="WHITE")
    await _service(api, "tt_north", "ORT")  # web-enabled, unmapped: its slots are no portal service's
    await _service(api, "tt_south", "LIMP", maps_to="CLEAN")
    await _service(api, "tt_east", "LIMP", maps_to="CLEAN")
    await _service(api, "tt_east", "REV", maps_to="CLEAN")
    await _service(api, "tt_east", "BLANQ", web=False, maps_to="WHITE")
    for name in ("tt_stale", "tt_failing", "tt_nosync"):
        await _service(api, name, "LIMP", maps_to="CLEAN")
    await _service(api, "tt_nocode", "NOPE", maps_to="CLEAN")  # a code no GESDENT slot carries
    await _service(api, "tt_hidden", "LIMP", web=False, maps_to="CLEAN")
    await _service(api, "tt_unmapped", "LIMP")
    for name, resources in (
        ("tt_north", [0]),
        ("tt_south", [1]),
        ("tt_east", [0, 1, 2]),
        ("tt_stale", [2]),
        ("tt_failing", [1, 2]),
        ("tt_nocode", [0]),
    ):
        await _synced(app, api, gesdent, name, resources)
    await _succeeded_long_ago(app, "tt_stale")
    gesdent.control.fault("wrong_credentials", endpoint="availability")
    assert (await sync_now(app, api, "tt_failing"))["status"] in ("failed", "partial")
    gesdent.control.clear_faults()


def _week() -> tuple[date, date, date]:
    """Next Monday, the Friday after it, and the Saturday after that (no GESDENT slot on it)."""
    today = datetime.now(UTC).date()
    monday = today + timedelta(days=7 - today.weekday())
    return monday, monday + timedelta(days=4), monday + timedelta(days=5)


async def search(api, **params: Any) -> dict[str, Any]:
    response = await api.get(URL, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _imported(api, name, first, last):
    """The member's free slots in those days, as the per-instance list shows them."""
    params = {"from": first.isoformat(), "to": last.isoformat(), "limit": 500}
    return (await api.get(f"/v1/instances/{name}/availability", params=params)).json()["items"]


def _utc(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(UTC).isoformat().replace("+00:00", "Z")


async def test_several_services_exclusions_health_and_summary(app, api, gesdent):
    await build(app, api, gesdent)
    monday, friday, _ = _week()
    days = {"from": monday.isoformat(), "to": friday.isoformat()}
    body = await search(api, service=["CLEAN", "WHITE"], **days)
    assert body["services"] == ["CLEAN", "WHITE"]
    assert body["explanations"] is None
    items = {item["name"]: item for item in body["items"]}
    # Unmapped, web-disabled, never synced and code-less members offer nothing.
    assert set(items) == {"tt_north", "tt_south", "tt_east", "tt_stale", "tt_failing"}
    order = [(datetime.fromisoformat(i["next_available"]), i["name"]) for i in body["items"]]
    assert order == sorted(order)
    north = items["tt_north"]
    assert (north["time_zone"], north["first_day"], north["last_day"]) == (
        "Europe/Madrid",
        monday.isoformat(),
        friday.isoformat(),
    )
    # Exactly the imported slots that carry LIMP (CLEAN) or BLANQ (WHITE); ORT is nobody's service.
    imported = await _imported(api, "tt_north", monday, friday)
    expected = [s for s in imported if {"LIMP", "BLANQ"} & set(s["treatment_codes"])]
    assert expected
    assert len(expected) < len(imported)
    assert north["slot_count"] == len(expected)
    assert [_utc(s["start"]) for s in north["slots"]] == [_utc(s["start"]) for s in expected][:50]
    for slot in north["slots"]:
        assert slot["start"].endswith("+01:00")  # Madrid in winter
        wanted = {"CLEAN"} if "LIMP" in slot["treatment_codes"] else set()
        wanted |= {"WHITE"} if "BLANQ" in slot["treatment_codes"] else set()
        assert set(slot["services"]) == wanted
    assert north["next_available"] == north["slots"][0]["start"]
    # tt_east's BLANQ is not web-enabled: none of its slots offers WHITE.
    assert all(s["services"] == ["CLEAN"] for s in items["tt_east"]["slots"])
    assert {name: i["as_of"]["state"] for name, i in items.items()} == {
        "tt_north": "fresh",
        "tt_south": "fresh",
        "tt_east": "fresh",
        "tt_stale": "stale",
        "tt_failing": "failing",
    }
    assert all(i["as_of"]["fetched_at"] for i in items.values())
    recent = await search(api, service="CLEAN", max_staleness_minutes=60, **days)
    assert {i["name"] for i in recent["items"]} == {"tt_north", "tt_south", "tt_east"}
    capped = await search(api, service="CLEAN", member=["north", "tt_east"], slots_per_member=2, **days)
    assert [len(i["slots"]) for i in capped["items"]] == [2, 2]
    assert {i["name"] for i in capped["items"]} == {"tt_north", "tt_east"}
    coded = await search(api, service="CLEAN", member_code="S01", **days)
    assert [i["name"] for i in coded["items"]] == ["tt_south"]
    default = await search(api, service="CLEAN")  # today and 13 days, in each member's zone
    madrid = datetime.now(ZoneInfo("Europe/Madrid")).date()
    assert {(i["first_day"], i["last_day"]) for i in default["items"]} == {
        (madrid.isoformat(), (madrid + timedelta(days=13)).isoformat())
    }
    summary = await api.get(f"{URL}/summary", params=days)
    assert summary.status_code == 200, summary.text
    per_service = {s["service"]: s for s in summary.json()["services"]}
    assert set(per_service) == {"CLEAN", "WHITE"}
    clean = await search(api, service="CLEAN", **days)
    assert per_service["CLEAN"]["members"] == len(clean["items"]) == 5
    assert per_service["CLEAN"]["earliest_member"] == clean["items"][0]["name"]
    assert per_service["CLEAN"]["earliest"] == _utc(clean["items"][0]["next_available"])
    assert (per_service["WHITE"]["members"], per_service["WHITE"]["earliest_member"]) == (1, "tt_north")
    fresh_only = await api.get(
        f"{URL}/summary", params={**days, "service": "CLEAN", "max_staleness_minutes": 60}
    )
    assert [s["members"] for s in fresh_only.json()["services"]] == [3]


async def test_explain_gives_each_reason(app, api, gesdent):
    await build(app, api, gesdent)
    monday, friday, saturday = _week()
    body = await search(
        api, service="CLEAN", explain="true", **{"from": monday.isoformat(), "to": friday.isoformat()}
    )
    reasons = {e["member"]: e["reason"] for e in body["explanations"]}
    assert reasons == {
        "tt_hidden": "not_web_enabled",
        "tt_unmapped": "not_mapped",
        "tt_nosync": "no_sync",
        "tt_nocode": "no_matching_codes",
    }
    assert body["explanations_complete"] is True
    assert all(e["service"] == "CLEAN" and e["detail"] for e in body["explanations"])
    weekend = await search(
        api, service="CLEAN", explain="true", **{"from": saturday.isoformat(), "to": saturday.isoformat()}
    )
    assert weekend["items"] == []
    reasons = {e["member"]: e["reason"] for e in weekend["explanations"]}
    assert reasons["tt_north"] == reasons["tt_nocode"] == "no_free_slot"
    assert reasons["tt_nosync"] == "no_sync"
    # Asked for WHITE too: tt_north offers it; tt_east maps a web-disabled service to it.
    both = await search(api, service=["CLEAN", "WHITE"], explain="true", member=["tt_east", "tt_north"])
    assert [(e["member"], e["service"], e["reason"]) for e in both["explanations"]] == [
        ("tt_east", "WHITE", "not_web_enabled")
    ]


def _key(item: dict[str, Any]) -> tuple[datetime, str]:
    return datetime.fromisoformat(item["next_available"]), item["name"]


async def _all_pages(api, params, between=None):
    names, cursor, pages = [], None, 0
    while True:
        response = await api.get(URL, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        names += [i["name"] for i in body["items"]]
        cursor, pages = body["next_cursor"], pages + 1
        if cursor is None:
            assert "Link" not in response.headers
            return names, pages
        assert response.headers["Link"].endswith('; rel="next"')
        if between is not None and pages == 1:
            await between(body["items"])


async def test_pages_neither_repeat_nor_skip_while_syncs_change_slots(app, api, gesdent):
    await build(app, api, gesdent)
    params = {"service": "CLEAN", "limit": 2}
    whole = [i["name"] for i in (await search(api, service="CLEAN"))["items"]]
    names, pages = await _all_pages(api, params)
    assert (names, pages) == (whole, 3)

    async def syncs(first_page: list[dict[str, Any]]) -> None:
        """GESDENT books slots and moves its breaks, and members import again, until a member of the
        first page has its earliest slot after that page's last: a plain (earliest, name) cursor
        would show it again."""
        boundary = max(_key(item) for item in first_page)
        for _ in range(10):
            gesdent.control.mutate(availability=True, new_reservations=150)
            for name in ("tt_north", "tt_south", "tt_east", "tt_stale", "tt_failing"):
                assert (await sync_now(app, api, name))["status"] == "succeeded"
            now = {i["name"]: _key(i) for i in (await search(api, service="CLEAN"))["items"]}
            if any(now.get(item["name"], boundary) > boundary for item in first_page):
                return
        raise AssertionError("no sync moved a member of the first page past it")

    before = set(whole)
    names, _ = await _all_pages(api, params, between=syncs)
    after = {i["name"] for i in (await search(api, service="CLEAN"))["items"]}
    assert len(names) == len(set(names)), names
    assert before & after <= set(names)
    first = await api.get(URL, params=params)
    cursor = first.json()["next_cursor"]
    other_filter = await api.get(URL, params={"service": "WHITE", "limit": 2, "cursor": cursor})
    assert_problem(other_filter, 422, "invalid-cursor")
    assert (await api.get(URL, params={**params, "cursor": cursor})).status_code == 200
    async with app.state.engine.begin() as connection:  # as when the order outlived its hour
        await connection.execute(text("DELETE FROM portal_search_orders"))
    expired = assert_problem(await api.get(URL, params={**params, "cursor": cursor}), 422, "invalid-cursor")
    assert "expired" in expired["detail"]


async def test_bad_input_and_other_partners(api, other):
    await create_portal(api, "tt_portal")
    ok = await api.get(URL, params={"service": "CLEAN"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["items"] == []
    for params in (
        {},
        {"service": "no spaces"},
        {"service": [f"S{i}" for i in range(11)]},
        {"service": "CLEAN", "from": "2026-12-10", "to": "2026-12-01"},
        {"service": "CLEAN", "from": "2026-12-01", "to": "2027-02-01"},
        {"service": "CLEAN", "from": "1"},
        {"service": "CLEAN", "from": "0001-01-01", "to": "0001-01-02"},
        {"service": "CLEAN", "to": "9999-12-31"},
        {"service": "CLEAN", "member_code": "a\nb"},
        {"service": "CLEAN", "limit": 0},
        {"service": "CLEAN", "limit": 101},
        {"service": "CLEAN", "slots_per_member": 501},
        {"service": "CLEAN", "member": "Not A Name"},
        {"service": "CLEAN", "max_staleness_minutes": 0},
    ):
        assert_problem(await api.get(URL, params=params), 422, "validation-error")
    assert_problem(await api.get(URL, params={"service": "CLEAN", "cursor": "abc"}), 422, "invalid-cursor")
    summary = f"{URL}/summary"
    assert_problem(
        await api.get(summary, params={"from": "2026-12-10", "to": "2026-12-01"}), 422, "validation-error"
    )
    assert_problem(await other.get(URL, params={"service": "CLEAN"}), 404, "not-found")
    assert_problem(await other.get(summary), 404, "not-found")
    await add_member(api, "tt_portal", "tt_member")
    assert_problem(
        await api.get("/v1/portals/tt_member/availability", params={"service": "X"}), 404, "not-found"
    )
