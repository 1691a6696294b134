"""The lookups of app/routers/deps.py: a named instance is read once per request, locked when the
route writes, and never before the checks a route makes of its own request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from app import auth
from app.db.models import Instance
from app.db.repositories import api_keys as api_keys_repo
from app.db.repositories import instances as instances_repo
from app.db.session import SessionRoute, request_session
from app.routers import deps
from app.routers.lookups import Lookup, LookupRoute
from tests.api.test_isolation import _dependants, _route_contexts
from tests.conftest import ALL_SCOPES, add_member, assert_problem, create_instance, create_portal

ReadByName = Callable[..., Awaitable[Instance | None]]


async def test_a_lookup_loads_once_however_often_it_is_awaited():
    loads: list[int] = []

    async def load() -> int:
        loads.append(1)
        return 42

    lookup = Lookup(load)
    assert (await lookup(), await lookup()) == (42, 42)
    assert loads == [1]


def test_every_route_using_a_lookup_loads_it_after_validation(app: FastAPI):
    """A router without `route_class=LookupRoute` would hand its endpoints a `Lookup`, not the row."""
    using = []
    for context in _route_contexts(app):
        route = getattr(context, "original_route", context)
        if isinstance(route, APIRoute) and any(
            getattr(d.call, "__module__", None) == deps.__name__ for d in _dependants(route.dependant)
        ):
            using.append(route)
            assert isinstance(route, LookupRoute), f"{route.path}: its router needs route_class=LookupRoute"
    assert len(using) >= 30, "the route enumeration is broken"


def test_every_route_with_a_session_or_a_caller_ends_its_session(app: FastAPI):
    """The route ends the request's session (app/db/session.py): a router without a SessionRoute
    class would answer 500 on every request that opens one (the caller's dependency opens it)."""
    opening = {request_session, auth.current_principal, auth._page_principal}
    using = []
    for context in _route_contexts(app):
        route = getattr(context, "original_route", context)
        if isinstance(route, APIRoute) and any(d.call in opening for d in _dependants(route.dependant)):
            using.append(route)
            assert isinstance(route, SessionRoute), f"{route.path}: its router needs route_class=SessionRoute"
    assert len(using) >= 60, "the route enumeration is broken"


async def test_a_session_outside_a_session_route_is_a_clear_error():
    app = FastAPI()

    @app.get("/plain")
    async def plain(session: Annotated[AsyncSession, Depends(request_session)]) -> None:
        return None

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with pytest.raises(RuntimeError, match="must be a SessionRoute"):
            await client.get("/plain")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Every instance read by name, as (name, locked)."""
    seen: list[tuple[str, bool]] = []
    original: ReadByName = instances_repo.get_by_name

    async def counting(session: AsyncSession, partner_id: str, name: str, *, lock: bool = False) -> Any:
        seen.append((name, lock))
        return await original(session, partner_id, name, lock=lock)

    monkeypatch.setattr(instances_repo, "get_by_name", counting)
    return seen


async def test_each_named_instance_is_read_once_and_locked_for_a_write(api, reads):
    portal, member = "tt_lookups_portal", "tt_lookups_member"
    await create_portal(api, portal)
    await add_member(api, portal, member)
    for name in (portal, member):
        service = {"code": "LIMP", "name": "Limpieza", "duration_minutes": 30}
        assert (await api.post(f"/v1/instances/{name}/services", json=service)).status_code == 201
    base = f"/v1/portals/{portal}/members/{member}"
    mapping = {"member_service": "LIMP", "portal_service": "LIMP"}
    expected: list[tuple[str, str, dict[str, Any], list[tuple[str, bool]]]] = [
        ("PATCH", f"/v1/instances/{member}/services/LIMP", {"json": {"name": "x"}}, [(member, True)]),
        ("GET", f"/v1/instances/{member}/services/LIMP", {}, [(member, False)]),
        ("POST", f"{base}/mappings", {"json": mapping}, [(portal, True)]),
        ("GET", f"{base}/mappings", {}, [(portal, False)]),
        ("GET", f"{base}/mapping-suggestions", {}, [(portal, False)]),
        ("DELETE", f"{base}/mappings/LIMP", {}, [(portal, True)]),
        ("DELETE", base, {}, [(portal, True)]),
    ]
    for method, url, request, names in expected:
        reads.clear()
        response = await api.request(method, url, **request)
        assert response.status_code < 300, response.text
        assert reads == names, f"{method} {url}"


async def test_an_unknown_name_comes_after_the_routes_own_checks(make_client):
    limited = await make_client([s for s in ALL_SCOPES if s != "portals:write"])
    await create_instance(limited, "tt_lookups_known")
    for name in ("tt_lookups_known", "tt_lookups_unknown"):
        clone = {"name": "tt_lookups_clone", "join_portal": True}
        response = await limited.post(f"/v1/instances/{name}/clone", json=clone)
        assert assert_problem(response, 403, "missing-scope")["required_scope"] == "portals:write"
        response = await limited.post(
            f"/v1/instances/{name}/services/import", json={"code": "X"}, params={"dry_run": "true"}
        )
        assert_problem(response, 415, "unsupported-media-type")
    window = {"service": "LIMP", "from": "2026-01-01", "to": "2026-06-30"}
    response = await limited.get("/v1/portals/tt_lookups_unknown/availability", params=window)
    assert_problem(response, 422, "validation-error")


async def test_the_key_is_checked_once_when_the_route_and_its_lookups_need_the_caller(app, api, monkeypatch):
    """The route and its lookups share the caller, which FastAPI solves once per request: one query
    for the key, however many lookups the route has (counted with the cache of keys emptied first:
    within a second of a first check there is none, app/key_cache.py)."""
    await create_portal(api, "tt_lookups_keyed")
    await create_instance(api, "tt_lookups_joining")
    checked: list[str] = []
    original = api_keys_repo.get_by_lookup

    async def counting(session: AsyncSession, lookup: str) -> Any:
        checked.append(lookup)
        return await original(session, lookup)

    monkeypatch.setattr(api_keys_repo, "get_by_lookup", counting)
    app.state.principals.forget(lambda _: True)
    joined = await api.post("/v1/portals/tt_lookups_keyed/members", json={"instance": "tt_lookups_joining"})
    assert joined.status_code == 201, joined.text
    assert len(checked) == 1
    checked.clear()
    app.state.principals.forget(lambda _: True)
    assert (await api.get("/v1/portals/tt_lookups_keyed/members/tt_lookups_joining")).status_code == 200
    assert len(checked) == 1
    checked.clear()
    assert (await api.get("/v1/portals/tt_lookups_keyed/members/tt_lookups_joining")).status_code == 200
    assert checked == []  # the key's principal was cached by the request before
