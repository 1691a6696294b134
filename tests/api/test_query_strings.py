"""Strict query strings (app/query_strings.py): an unknown query parameter, or a single-valued one
given twice, is a 422 problem on every route, before the body is read and before anything is written.

The check runs before authentication, so the sweeps expect exactly that 422 with no key, a partner's
key or the master key alike (why: app/query_strings.py). They enumerate the application's routes as
tests/api/test_isolation.py does, public ones included, so a route added later is covered without
editing this file; mounts (static assets) are exempt.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from fastapi._compat import field_annotation_is_sequence
from fastapi.routing import APIRoute
from starlette.routing import Mount, WebSocketRoute

from tests.api.test_isolation import SAMPLE_PATH_VALUES, _dependants, _route_contexts, fill
from tests.conftest import KeyFactory, assert_problem, create_instance

UNKNOWN = "tt_no_such_parameter"
CSV = {"Content-Type": "text/csv"}
NEW_SERVICE = "code,name,duration_minutes,price,web_enabled\r\nTTQS,Query string check,15,,false\r\n"


@dataclass(frozen=True)
class Call:
    method: str
    url: str  # path parameters filled
    query_params: dict[str, bool]  # declared name -> may repeat

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


def calls(app: FastAPI) -> list[Call]:
    """Every (method, path) the application serves, with its declared query parameters."""
    found: list[Call] = []
    for context in _route_contexts(app):
        route = getattr(context, "original_route", context)
        if isinstance(route, Mount | WebSocketRoute) or not context.methods:
            continue  # exempt: a mount answers whatever it is asked
        query: dict[str, bool] = {}
        if isinstance(route, APIRoute):
            for dependant in _dependants(context.dependant):
                for param in dependant.query_params:
                    query[param.alias] = field_annotation_is_sequence(param.field_info.annotation)
        values = {p: SAMPLE_PATH_VALUES.get(p, "x") for p in context.param_convertors}
        found.extend(
            Call(method, fill(context.path, values), query)
            for method in sorted(set(context.methods) - {"HEAD", "OPTIONS"})
        )
    assert len(found) >= 30, "the route enumeration is broken"
    return found


def _failure(response: httpx.Response, slug: str, name: str, *fragments: str) -> str | None:
    """Why the response is not a 422 `slug` problem with one error, on `query.<name>`, saying `fragments`."""
    if response.status_code != 422:
        return f"{response.status_code} {response.text[:200]}"
    if not response.headers["content-type"].startswith("application/problem+json"):
        return f"content-type {response.headers['content-type']}"
    body = response.json()
    if body.get("type") != f"/problems/{slug}" or body.get("status") != 422 or not body.get("title"):
        return f"not a {slug} problem: {body}"
    errors = body.get("errors") or []
    if [e.get("field") for e in errors] != [f"query.{name}"]:
        return f"errors should name query.{name} only: {errors}"
    missing = [f for f in (name, *fragments) if f not in errors[0]["message"] or f not in body["detail"]]
    return f"message or detail lacks {missing}: {body}" if missing else None


@pytest.fixture(params=["no key", "partner key", "master key"])
async def caller(
    request: pytest.FixtureRequest, anon: httpx.AsyncClient, admin: httpx.AsyncClient, make_client: KeyFactory
) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "partner key":
        yield await make_client()
    elif request.param == "master key":
        yield admin
    else:
        async with anon:
            yield anon


# --------------------------------------------------------------------------------------------------
# Every route


async def test_every_route_refuses_an_unknown_parameter(app, caller):
    failures = []
    for call in calls(app):
        # Every declared parameter is accepted: the unknown one is the only error.
        query = {**dict.fromkeys(call.query_params, "1"), UNKNOWN: "1"}
        response = await caller.request(call.method, call.url, params=query)
        names = [f"'{p}'" for p in call.query_params] or ["takes no query parameters"]
        problem = _failure(response, "unknown-query-parameter", UNKNOWN, *names)
        if problem:
            failures.append(f"{call}: {problem}")
    assert not failures, "\n".join(failures)


async def test_every_route_refuses_a_repeated_parameter(app, anon):
    failures, checked = [], 0
    async with anon:
        for call in calls(app):
            for name, may_repeat in call.query_params.items():
                response = await anon.request(call.method, call.url, params=[(name, "1"), (name, "2")])
                checked += 1
                if may_repeat:  # a list: repeating it is how it is given
                    if response.status_code == 422 and "repeated-query" in response.text:
                        failures.append(f"{call}: list parameter {name} refused: {response.text}")
                    continue
                problem = _failure(response, "repeated-query-parameter", name, "2 times")
                if problem:
                    failures.append(f"{call} ({name}): {problem}")
    assert checked >= 20, "no query parameters found: the enumeration is broken"
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------------------------------
# The cases that prompted it


async def _services(api: httpx.AsyncClient, instance: str) -> list[str]:
    response = await api.get(f"/v1/instances/{instance}/services")
    assert response.status_code == 200, response.text
    return [s["code"] for s in response.json()["items"]]


@pytest.mark.parametrize("misspelt", ["dry-run", "DRY_RUN", "dryRun", "Dry-Run"])
async def test_a_misspelt_dry_run_writes_nothing(api, misspelt):
    await create_instance(api, "tt_qs")
    url = "/v1/instances/tt_qs/services/import"
    response = await api.post(url, params={misspelt: "true"}, content=NEW_SERVICE, headers=CSV)
    body = assert_problem(response, 422, "unknown-query-parameter")
    assert body["errors"] == [{"field": f"query.{misspelt}", "message": body["errors"][0]["message"]}]
    message = body["errors"][0]["message"]
    assert f"'{misspelt}'" in message, message
    assert "did you mean 'dry_run'?" in message, message
    assert "'mode', 'dry_run', 'cascade'" in message, message
    assert await _services(api, "tt_qs") == []

    # Spelt right, the same request is a dry run; without it, it writes.
    report = await api.post(url, params={"dry_run": "true"}, content=NEW_SERVICE, headers=CSV)
    assert report.status_code == 200, report.text
    assert report.json()["dry_run"] is True
    assert report.json()["created"] == 1
    assert await _services(api, "tt_qs") == []
    written = await api.post(url, content=NEW_SERVICE, headers=CSV)
    assert written.status_code == 200, written.text
    assert await _services(api, "tt_qs") == ["TTQS"]


@pytest.mark.parametrize(
    ("url", "given", "meant"),
    [
        ("/v1/instances", "lmit", "limit"),  # declared by a sub-dependency (PageParams)
        ("/v1/instances/tt_x/services", "Web-Enabled", "web_enabled"),
        ("/v1/portals/tt_x/members/tt_y/mapping-suggestions", "minScore", "min_score"),
        ("/cron_importer_gesdent.php", "db_name", "dbName"),  # an alias
        ("/cron_importer_gesdent.php", "DBNAME", "dbName"),
    ],
)
async def test_the_closest_name_is_suggested(anon, url, given, meant):
    async with anon:
        body = assert_problem(await anon.get(url, params={given: "x"}), 422, "unknown-query-parameter")
    assert f"did you mean '{meant}'?" in body["errors"][0]["message"], body


async def test_no_suggestion_when_nothing_is_close(anon):
    async with anon:
        response = await anon.get("/v1/instances", params={"zzz": "1"})
    body = assert_problem(response, 422, "unknown-query-parameter")
    message = body["errors"][0]["message"]
    assert "did you mean" not in message, message
    assert "'kind', 'q', 'limit', 'cursor'" in message, message


async def test_a_repeated_limit_is_refused_and_a_single_one_works(api):
    for name in ("tt_qs_a", "tt_qs_b"):
        await create_instance(api, name)
    body = assert_problem(await api.get("/v1/instances?limit=1&limit=2"), 422, "repeated-query-parameter")
    assert [e["field"] for e in body["errors"]] == ["query.limit"], body
    assert "'limit' is given 2 times" in body["detail"], body
    assert_problem(
        await api.get("/v1/instances/tt_qs_a/services?limit=1&limit=1"), 422, "repeated-query-parameter"
    )

    page = await api.get("/v1/instances?limit=1")
    assert page.status_code == 200, page.text
    assert len(page.json()["items"]) == 1
    assert page.json()["next_cursor"]


@pytest.mark.parametrize("name", ["api_key", "key", "access_token"])
async def test_api_keys_are_never_read_from_the_query_string(api, anon, name):
    key = api.headers["Authorization"].removeprefix("Bearer ")
    async with anon:
        listed = await anon.get("/v1/instances", params={name: key})
        created = await anon.post("/v1/instances", params={name: key}, json={"name": "tt_qs_by_query"})
    for response in (listed, created):
        body = assert_problem(response, 422, "unknown-query-parameter")
        assert [e["field"] for e in body["errors"]] == [f"query.{name}"], body
        assert "Authorization" in body["errors"][0]["message"], body
        assert key not in response.text  # values are never echoed
    # The key itself is valid, and nothing was created with it.
    instances = await api.get("/v1/instances")
    assert instances.status_code == 200, instances.text
    assert instances.json()["items"] == [], instances.text


async def test_the_spec_and_the_docs_take_no_parameters_but_assets_do(app, anon):
    async with anon:
        for path in ("/openapi.json", "/docs"):
            body = assert_problem(await anon.get(path, params={"x": "1"}), 422, "unknown-query-parameter")
            assert "this route takes no query parameters" in body["detail"], body
        spec = await anon.get("/openapi.json")
        assert spec.status_code == 200
        assert spec.json() == app.openapi()
        # Static assets are exempt: their URLs carry a `?v=` cache buster.
        for mount in (r for r in app.routes if isinstance(r, Mount)):
            response = await anon.get(f"{mount.path}/tt-missing.css", params={"v": "1", "x": "2"})
            assert response.status_code == 404, f"{mount.path}: {response.status_code} {response.text}"


async def test_only_routed_paths_are_checked(anon):
    async with anon:
        assert_problem(await anon.get("/healthz", params={"verbose": "1"}), 422, "unknown-query-parameter")
        # No route, or not this method: the router's answer, as without a query string.
        assert_problem(await anon.get("/v1/no-such-thing", params={"dry-run": "1"}), 404, "not-found")
        assert_problem(await anon.delete("/healthz", params={"verbose": "1"}), 405, "method-not-allowed")


async def test_the_body_is_not_read(api):
    started = False

    async def body() -> AsyncIterator[bytes]:
        nonlocal started
        started = True
        yield b'{"name": "tt_qs_streamed"}'

    response = await api.post(
        "/v1/instances",
        params={"dry-run": "true"},
        content=body(),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 422, "unknown-query-parameter")
    assert not started, "the body was read before the query string was checked"
    assert_problem(await api.get("/v1/instances/tt_qs_streamed"), 404, "not-found")
