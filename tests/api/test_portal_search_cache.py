"""The portal search's kept answers (app/search_cache.py): a kept answer is byte for byte the computed
one, and every write that can change an answer shows in the next search — through this process or
another on the same database — as does time passing (a member going stale, midnight in its zone).
Data imported from the GESDENT sandbox by real syncs, as in test_portal_availability.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlmodel import col

from app.db.models import GesdentSlot, Instance, SyncHealth, table_of
from app.main import create_app
from app.sync.upsert import delete_slots
from tests.api.test_portal_availability import _service, _succeeded_long_ago, _synced, _week, record_success
from tests.conftest import BASE_URL, add_member, app_settings, assert_problem, create_portal
from tests.sync.conftest import TEST_CONFIG
from tests.sync.sandbox_server import SandboxServer, start_sandbox

URL = "/v1/portals/tt_portal/availability"
SUMMARY = f"{URL}/summary"
CSV = {"content-type": "text/csv"}


@pytest.fixture(scope="module")
def gesdent() -> Iterator[SandboxServer]:
    server = start_sandbox(TEST_CONFIG, patients=20, reservations=60, resources=2)
    yield server
    server.stop()


@pytest.fixture
def no_blind_writes(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every write of the test names its instances: none grows every portal's generation."""
    with caplog.at_level(logging.WARNING, logger="portico"):
        yield
    assert not [r for r in caplog.records if "search generation" in r.getMessage()]


def _days() -> dict[str, str]:
    monday, friday, _ = _week()
    return {"from": monday.isoformat(), "to": friday.isoformat()}


async def build(app, api, gesdent):
    """A portal (CLEAN, WHITE) and two members offering CLEAN; tt_north has an unmapped BLANQ."""
    gesdent.control.reset()
    await create_portal(api, "tt_portal")
    await _service(api, "tt_portal", "CLEAN")
    await _service(api, "tt_portal", "WHITE")
    for name in ("tt_north", "tt_south"):
        await add_member(api, "tt_portal", name)
    await _service(api, "tt_north", "LIMP", maps_to="CLEAN")
    await _service(api, "tt_north", "BLANQ")
    await _service(api, "tt_south", "LIMP", maps_to="CLEAN")
    await _synced(app, api, gesdent, "tt_north", [0])
    await _synced(app, api, gesdent, "tt_south", [1])


async def _answer(api, url: str, params: dict[str, Any]) -> httpx.Response:
    response: httpx.Response = await api.get(url, params=params)
    assert response.status_code == 200, response.text
    return response


async def _kept(app: FastAPI, api, url: str, params: dict[str, Any]) -> dict[str, Any]:
    """The answer, asked twice: the second is the kept one, byte for byte the first."""
    cache = app.state.search_cache
    first = await _answer(api, url, params)
    hits = cache.hits
    second = await _answer(api, url, params)
    assert cache.hits == hits + 1
    assert second.content == first.content
    assert second.headers.get("link") == first.headers.get("link")
    body: dict[str, Any] = first.json()
    return body


def _items(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in body["items"]}


async def _instance_id(app: FastAPI, name: str) -> str:
    async with app.state.sessionmaker() as session:
        found = select(col(Instance.id)).where(col(Instance.name) == name)
        return str((await session.execute(found)).scalar_one())


# --- What can change an answer, each with what the next answer must show --------------------------


async def _slot_deleted(app, api, _gesdent):
    """A slot removed as the sync removes one (its own statement, on its session's connection)."""
    body = (await api.get(URL, params={**_days(), "service": "CLEAN", "member": "tt_north"})).json()
    slot = body["items"][0]["slots"][0]
    member_id = await _instance_id(app, "tt_north")
    async with app.state.sessionmaker() as session:
        connection = await session.connection()
        start = datetime.fromisoformat(slot["start"]).astimezone(UTC)
        gone = await delete_slots(connection, table_of(GesdentSlot), member_id, slot["resource_id"], [start])
        await session.commit()
    assert gone == 1


async def _patched(api, url: str, body: dict[str, Any]) -> None:
    response = await api.patch(url, json=body)
    assert response.status_code == 200, response.text


async def _deleted(api, url: str, **params: str) -> None:
    response = await api.delete(url, params=params)
    assert response.status_code == 200, response.text


async def _mapped(_app, api, _gesdent):
    url = "/v1/portals/tt_portal/members/tt_north/mappings"
    response = await api.post(url, json={"member_service": "BLANQ", "portal_service": "WHITE"})
    assert response.status_code == 201, response.text


async def _imported(_app, api, _gesdent):
    """LIMP not web-enabled any more, by a CSV import (a bulk update of services)."""
    csv = "code,name,duration_minutes,price,web_enabled\nLIMP,LIMP,30,,false\n"
    response = await api.post("/v1/instances/tt_north/services/import", content=csv, headers=CSV)
    assert response.status_code == 200, response.text


async def _joined(_app, api, _gesdent):
    await add_member(api, "tt_portal", "tt_new")


async def _portal_service(_app, api, _gesdent):
    await _service(api, "tt_portal", "ORTHO")


def _north_gone(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return "tt_north" in _items(before) and "tt_north" not in _items(after)


def _north(field: str, value: Any) -> Callable[[dict[str, Any], dict[str, Any]], bool]:
    def changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
        return bool(_items(before)["tt_north"][field] != value == _items(after)["tt_north"][field])

    return changed


Write = Callable[[FastAPI, Any, SandboxServer], Awaitable[None]]


@dataclass(frozen=True)
class Trigger:
    write: Write
    shows: Callable[[dict[str, Any], dict[str, Any]], bool]
    params: tuple[tuple[str, Any], ...] = (("service", "CLEAN"),)
    url: str = URL


TRIGGERS = {
    "slots written by a sync": Trigger(
        _slot_deleted,
        lambda b, a: _items(a)["tt_north"]["slot_count"] == _items(b)["tt_north"]["slot_count"] - 1,
    ),
    "availability health written": Trigger(
        lambda app, _api, _g: _succeeded_long_ago(app, "tt_north"),
        lambda b, a: (
            _items(b)["tt_north"]["as_of"]["state"] == "fresh"
            and _items(a)["tt_north"]["as_of"]["state"] == "stale"
        ),
    ),
    "mapping added": Trigger(
        _mapped,
        lambda b, a: not b["items"] and list(_items(a)) == ["tt_north"],
        (("service", "WHITE"),),
    ),
    "mapping removed": Trigger(
        lambda _app, api, _g: _deleted(api, "/v1/portals/tt_portal/members/tt_north/mappings/LIMP"),
        _north_gone,
    ),
    "member service web flag": Trigger(
        lambda _app, api, _g: _patched(api, "/v1/instances/tt_north/services/LIMP", {"web_enabled": False}),
        _north_gone,
    ),
    "member services imported": Trigger(_imported, _north_gone),
    "member service deleted": Trigger(
        lambda _app, api, _g: _deleted(api, "/v1/instances/tt_north/services/LIMP", cascade="true"),
        _north_gone,
    ),
    "member added": Trigger(
        _joined,
        lambda b, a: (
            "tt_new" not in {e["member"] for e in b["explanations"]}
            and "tt_new" in {e["member"] for e in a["explanations"]}
        ),
        (("service", "CLEAN"), ("explain", "true")),
    ),
    "member removed": Trigger(
        lambda _app, api, _g: _deleted(api, "/v1/portals/tt_portal/members/tt_north", cascade="true"),
        _north_gone,
    ),
    "member's time zone": Trigger(
        lambda _app, api, _g: _patched(api, "/v1/instances/tt_north", {"time_zone": "Atlantic/Canary"}),
        _north("time_zone", "Atlantic/Canary"),
    ),
    "member's display name": Trigger(
        lambda _app, api, _g: _patched(api, "/v1/instances/tt_north", {"display_name": "North Clinic"}),
        _north("display_name", "North Clinic"),
    ),
    "member's code": Trigger(
        lambda _app, api, _g: _patched(api, "/v1/instances/tt_north", {"member_code": "N9"}),
        _north("member_code", "N9"),
    ),
    "member's instance deleted": Trigger(
        lambda _app, api, _g: _deleted(api, "/v1/instances/tt_north", cascade="true"), _north_gone
    ),
    "portal's services": Trigger(
        _portal_service,
        lambda b, a: (
            "ORTHO" not in {s["service"] for s in b["services"]}
            and "ORTHO" in {s["service"] for s in a["services"]}
        ),
        (),
        SUMMARY,
    ),
}


@pytest.mark.usefixtures("no_blind_writes")
@pytest.mark.parametrize("trigger", list(TRIGGERS))
async def test_a_write_shows_in_the_next_search(app, api, gesdent, trigger):
    await build(app, api, gesdent)
    case = TRIGGERS[trigger]
    params = {**_days(), **dict(case.params)}
    before = await _kept(app, api, case.url, params)
    await case.write(app, api, gesdent)
    after = (await _answer(api, case.url, params)).json()
    assert case.shows(before, after), (before, after)


# --- Replicas, time, partners, pages ----------------------------------------------------------------


@pytest.fixture
async def replica(database_url: str) -> AsyncIterator[FastAPI]:
    """A second app on the same database, as another replica: its own cache, the same generations."""
    application = create_app(app_settings(database_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest.mark.usefixtures("no_blind_writes")
async def test_a_write_through_one_replica_shows_in_the_other(app, api, gesdent, replica):
    await build(app, api, gesdent)
    headers = {"Authorization": api.headers["Authorization"]}
    transport = httpx.ASGITransport(app=replica)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as other_replica:
        params = {**_days(), "service": "CLEAN"}
        before = await _kept(replica, other_replica, URL, params)
        await _kept(app, api, URL, params)
        await _patched(api, "/v1/instances/tt_north/services/LIMP", {"web_enabled": False})
        assert _north_gone(before, (await _answer(other_replica, URL, params)).json())
        await _patched(api, "/v1/instances/tt_north/services/LIMP", {"web_enabled": True})
        await _kept(app, api, URL, params)
        # A sync's outcome written by the replica.
        await record_success(replica, "tt_south", datetime.now(UTC) - timedelta(hours=3))
        assert _items((await _answer(api, URL, params)).json())["tt_south"]["as_of"]["state"] == "stale"


def _clock(monkeypatch: pytest.MonkeyPatch, app: FastAPI, start: datetime) -> Callable[[timedelta], None]:
    """The search's clock at `start`; the function returned moves it on."""
    moment = [start]
    monkeypatch.setattr(app.state.search_cache, "now", lambda: moment[0])

    def move(by: timedelta) -> None:
        moment[0] += by

    return move


async def _succeeded(app: FastAPI, name: str, at: datetime) -> datetime:
    """Record a success of `name` at `at`, as a run's end does; its stale_at."""
    member_id = await record_success(app, name, at)
    async with app.state.sessionmaker() as session:
        rows = select(col(SyncHealth.stale_at)).where(
            col(SyncHealth.instance_id) == member_id, col(SyncHealth.stream) == "availability"
        )
        stale_at: datetime | None = (await session.execute(rows)).scalar_one()
    assert stale_at is not None
    return stale_at if stale_at.tzinfo else stale_at.replace(tzinfo=UTC)


async def test_a_member_going_stale_shows_without_a_write(app, api, gesdent, monkeypatch):
    await build(app, api, gesdent)
    now = datetime.now(UTC).replace(microsecond=0)
    stale_after = await _succeeded(app, "tt_north", now) - now
    # Its data goes stale 10 s from now: well within the age any kept answer may reach.
    await _succeeded(app, "tt_north", now - stale_after + timedelta(seconds=10))
    move = _clock(monkeypatch, app, now)
    params = {**_days(), "service": "CLEAN"}
    assert _items(await _kept(app, api, URL, params))["tt_north"]["as_of"]["state"] == "fresh"
    move(timedelta(seconds=15))
    assert _items((await _answer(api, URL, params)).json())["tt_north"]["as_of"]["state"] == "stale"


async def test_a_member_leaving_the_staleness_filter_shows_without_a_write(app, api, gesdent, monkeypatch):
    await build(app, api, gesdent)
    now = datetime.now(UTC).replace(microsecond=0)
    await _succeeded(app, "tt_north", now - timedelta(minutes=60) + timedelta(seconds=10))
    move = _clock(monkeypatch, app, now)
    params = {**_days(), "service": "CLEAN", "max_staleness_minutes": 60}
    assert "tt_north" in _items(await _kept(app, api, URL, params))
    move(timedelta(seconds=15))
    assert "tt_north" not in _items((await _answer(api, URL, params)).json())


async def test_the_default_days_move_at_midnight_without_a_write(app, api, gesdent, monkeypatch):
    await build(app, api, gesdent)
    madrid = ZoneInfo("Europe/Madrid")
    day = datetime.now(madrid).date()
    move = _clock(monkeypatch, app, datetime.combine(day, time(23, 59, 50), madrid).astimezone(UTC))
    params = {"service": "CLEAN"}
    days = {i["first_day"] for i in (await _kept(app, api, URL, params))["items"]}
    assert days == {day.isoformat()}
    move(timedelta(seconds=20))
    after = (await _answer(api, URL, params)).json()
    assert {i["first_day"] for i in after["items"]} == {(day + timedelta(days=1)).isoformat()}


async def test_a_slot_that_starts_leaves_the_answer_without_a_write(app, api, gesdent, monkeypatch):
    """A slot that has started can no longer be booked: it leaves the search (and the summary's
    earliest) the moment it starts, a kept answer included."""
    await build(app, api, gesdent)
    params = {**_days(), "service": "CLEAN"}
    slots = _items((await _answer(api, URL, params)).json())["tt_north"]["slots"]
    first = datetime.fromisoformat(slots[0]["start"]).astimezone(UTC)
    move = _clock(monkeypatch, app, first - timedelta(seconds=5))
    assert _items(await _kept(app, api, URL, params))["tt_north"]["slots"][0] == slots[0]
    move(timedelta(seconds=10))
    after = _items((await _answer(api, URL, params)).json())["tt_north"]["slots"]
    assert after[0] == slots[1]

    def earliest(body: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(body["services"][0]["earliest"])

    soonest = earliest((await _answer(api, SUMMARY, params)).json())
    move = _clock(monkeypatch, app, soonest - timedelta(seconds=5))
    assert earliest(await _kept(app, api, SUMMARY, params)) == soonest
    move(timedelta(seconds=10))
    assert earliest((await _answer(api, SUMMARY, params)).json()) > soonest


async def test_other_partners_get_their_404_from_a_warm_cache(app, api, other, gesdent):
    await build(app, api, gesdent)
    for url in (URL, SUMMARY):
        await _kept(app, api, url, {"service": "CLEAN"})
        assert_problem(await other.get(url, params={"service": "CLEAN"}), 404, "not-found")


async def test_the_cursor_of_a_kept_first_page_reads_the_next(app, api, gesdent):
    await build(app, api, gesdent)
    params = {**_days(), "service": "CLEAN", "limit": 1}
    first = await _kept(app, api, URL, params)
    assert first["next_cursor"]
    rest = await _answer(api, URL, {**params, "cursor": first["next_cursor"]})
    names = [i["name"] for i in first["items"] + rest.json()["items"]]
    assert sorted(names) == ["tt_north", "tt_south"]
    assert rest.json()["next_cursor"] is None


async def test_a_write_naming_no_instance_grows_every_generation(app, api, gesdent, caplog):
    await build(app, api, gesdent)
    params = {**_days(), "service": "CLEAN"}
    before = await _kept(app, api, URL, params)
    with caplog.at_level(logging.WARNING, logger="portico"):
        async with app.state.engine.begin() as connection:  # no WHERE: whose rows, it cannot tell
            await connection.execute(update(table_of(Instance)).values(display_name="Renamed"))
    assert any("every portal's search generation" in r.getMessage() for r in caplog.records)
    assert _north("display_name", "Renamed")(before, (await _answer(api, URL, params)).json())
