"""The request id on every answer and in every problem, and the one log line of every request: its
route template, status, duration and caller, never the key it authenticated with."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import MASTER_KEY, PartnerClient, assert_problem, create_instance

GIVEN = "client-trace:01.A_b"


def _id(response: httpx.Response) -> str:
    value: str = response.headers["x-request-id"]
    return value


def _request_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "portico.requests"]


async def test_a_well_formed_id_is_echoed_and_logged(api: PartnerClient, log_lines):
    await create_instance(api, "tt_clinic")
    response = await api.get("/v1/instances/tt_clinic", headers={"X-Request-ID": GIVEN})
    assert response.status_code == 200
    assert _id(response) == GIVEN
    (line,) = [line for line in _request_lines(log_lines()) if line["request_id"] == GIVEN]
    assert line["method"] == "GET"
    assert line["route"] == "/v1/instances/{name}"  # the template: not the path, with its names
    assert line["status"] == 200
    assert line["partner_id"] == api.partner_id
    assert line["key_id"]
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["level"] == "info"


async def test_without_an_id_or_with_a_malformed_one_a_new_one_is_made(api: PartnerClient, log_lines):
    plain = await api.get("/v1/instances")
    malformed = await api.get("/v1/instances", headers={"X-Request-ID": "no spaces; please"})
    too_long = await api.get("/v1/instances", headers={"X-Request-ID": "x" * 129})
    ids = [_id(plain), _id(malformed), _id(too_long)]
    assert len(set(ids)) == 3
    assert "no spaces; please" not in ids
    logged = {line["request_id"] for line in _request_lines(log_lines())}
    assert set(ids) <= logged


async def test_every_kind_of_answer_carries_the_id_and_problems_repeat_it(api: PartnerClient, anon):
    await create_instance(api, "tt_clinic")
    etag: str = (await api.get("/v1/instances/tt_clinic")).headers["etag"]
    headers = {"X-Request-ID": GIVEN}
    answers = {
        "404 from a route": (await api.get("/v1/instances/tt_nowhere", headers=headers), 404, "not-found"),
        "405 from a middleware": (await api.put("/v1/instances", headers=headers), 405, "method-not-allowed"),
        "422 from a middleware": (
            await api.get("/v1/instances?limt=5", headers=headers),
            422,
            "unknown-query-parameter",
        ),
        "401 from auth": (await anon.get("/v1/instances", headers=headers), 401, "unauthorized"),
    }
    for what, (response, status, slug) in answers.items():
        assert _id(response) == GIVEN, what
        assert assert_problem(response, status, slug)["request_id"] == GIVEN, what
    not_modified = await api.get("/v1/instances/tt_clinic", headers={**headers, "If-None-Match": etag})
    assert not_modified.status_code == 304
    assert _id(not_modified) == GIVEN
    page = await anon.get("/docs", headers=headers)
    assert page.status_code == 200
    assert _id(page) == GIVEN


async def test_a_405_is_logged_under_its_route_and_an_unknown_path_under_none(api: PartnerClient, log_lines):
    await api.put("/v1/instances/tt_x/settings", headers={"X-Request-ID": "r405"})
    await api.get("/v1/nothing/here", headers={"X-Request-ID": "r404"})
    lines = {line["request_id"]: line for line in _request_lines(log_lines())}
    assert (lines["r405"]["route"], lines["r405"]["status"]) == ("/v1/instances/{name}/settings", 405)
    assert (lines["r404"]["route"], lines["r404"]["status"]) == (None, 404)


@pytest.mark.parametrize("scheme", ["Bearer", "Basic"])
async def test_no_line_has_the_key_the_caller_sent(app, make_client, admin, log_lines, scheme):
    """Partner keys and the master key, valid or not, as Bearer or as a page's HTTP Basic password."""
    api = await make_client()
    key = api.headers["authorization"].removeprefix("Bearer ")
    wrong = key[:-4] + "0000"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portico.test") as client:
        for presented in (key, wrong, MASTER_KEY):
            auth = httpx.BasicAuth("someone", presented) if scheme == "Basic" else None
            headers = (
                {"Accept": "text/html"} if scheme == "Basic" else {"Authorization": f"Bearer {presented}"}
            )
            await client.get("/v1/instances", headers=headers, auth=auth)
            await client.get("/cron_importer_gesdent.php?dbName=tt_x", headers=headers, auth=auth)
    await admin.get("/v1/partners")
    written = "\n".join(str(line) for line in log_lines())
    assert written  # the requests were logged
    # The secret part is everything after `ptc_<lookup>_`: it may hold underscores itself, so not
    # the last piece of a split on them (which was sometimes one character, found in any log).
    secret_part = key.removeprefix("ptc_").partition("_")[2]
    assert len(secret_part) >= 32
    for secret in (key, wrong, MASTER_KEY, secret_part):
        assert secret not in written
    masters = [line for line in _request_lines(log_lines()) if line.get("principal") == "master"]
    assert masters
    assert all(line["partner_id"] is None for line in masters)
