"""Rate limits in one process (app/rate_limits.py): a key over its limit gets a 429 with Retry-After,
every answer to a counted caller carries the RateLimit fields, a partner's own limit set by the master
key applies within about a second in another app on the same database, failed authentications are
throttled per client address, and a Redis that does not answer fails open to the process's counts.

The apps here are built with small limits on the session's database (both backends); partners and
keys are made through the session's app (`admin`), which empties the database after each test."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests.conftest import BASE_URL, CHECKED, MASTER_KEY, SECRET_KEY, assert_problem
from tests.processes import free_port

PER_MINUTE = 3
WINDOW = 60


@asynccontextmanager
async def limited_app(database_url: str, **settings: str) -> AsyncIterator[FastAPI]:
    """An app on the session's database whose keys may make 3 requests a minute, and whose client
    addresses may fail to authenticate 3 times a minute (unless `settings` say otherwise)."""
    limits = {"rate_limit": f"{PER_MINUTE}/minute", "auth_failure_limit": f"{PER_MINUTE}/minute"}
    application = create_app(
        Settings(
            database_url=database_url,
            master_key=MASTER_KEY,
            secret_keys=SECRET_KEY,
            scheduler=False,
            **(limits | settings),  # type: ignore[arg-type]
        )
    )
    async with application.router.lifespan_context(application):
        yield application


def client(app: FastAPI, key: str | None, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client of `app` holding `key`, calling from `address`; its answers are checked against the spec."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers, event_hooks=CHECKED)


async def new_key(admin: httpx.AsyncClient, partner_id: str | None = None) -> tuple[str, str]:
    """(partner id, key) of a new key, of a new partner unless `partner_id` is given."""
    if partner_id is None:
        created = await admin.post("/v1/partners", json={"name": "Limited"})
        assert created.status_code == 201, created.text
        partner_id = created.json()["id"]
    key = await admin.post(f"/v1/partners/{partner_id}/api-keys", json={"name": "k"})
    assert key.status_code == 201, key.text
    return partner_id, key.json()["key"]


def quota(response: httpx.Response) -> tuple[int, int, int]:
    """(RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset) of an answer."""
    fields = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
    return (
        int(response.headers[fields[0]]),
        int(response.headers[fields[1]]),
        int(response.headers[fields[2]]),
    )


async def test_a_key_over_its_limit_gets_a_429_with_retry_after(database_url, admin):
    partner_id, key = await new_key(admin)
    _, second_key = await new_key(admin, partner_id)
    async with limited_app(database_url) as app, client(app, key) as api:
        seen = []
        for _ in range(PER_MINUTE):
            response = await api.get("/v1/instances")
            assert response.status_code == 200, response.text
            seen.append(quota(response))
            assert response.headers["ratelimit-policy"] == f"{PER_MINUTE};w={WINDOW}"
        assert [remaining for _, remaining, _ in seen] == [2, 1, 0]  # the headers count down
        assert all(limit == PER_MINUTE and 0 < reset <= WINDOW for limit, _, reset in seen)
        refused = await api.get("/v1/instances")
        body = assert_problem(refused, 429, "rate-limited")
        assert 0 < int(refused.headers["retry-after"]) <= WINDOW
        assert quota(refused)[:2] == (PER_MINUTE, 0)
        assert "3 requests every 60 seconds" in body["detail"]
        async with client(app, second_key) as other_key:  # per key: the partner's other key is untouched
            response = await other_key.get("/v1/instances/tt_nowhere")
            assert_problem(response, 404, "not-found")  # an error answer carries the fields too
            assert quota(response)[:2] == (PER_MINUTE, PER_MINUTE - 1)


async def test_the_master_key_is_not_limited(database_url, admin):
    async with limited_app(database_url) as app, client(app, MASTER_KEY) as master:
        for _ in range(PER_MINUTE + 2):
            response = await master.get("/v1/partners")
            assert response.status_code == 200, response.text
            assert "ratelimit-limit" not in response.headers


async def test_a_partner_limit_set_by_the_master_key_applies_within_a_second_elsewhere(database_url, admin):
    """The change goes through the session's app; the limited app, another process as far as its cache
    of keys is concerned, applies it once its cached principal expires (1 s)."""
    partner_id, key = await new_key(admin)
    async with limited_app(database_url) as app, client(app, key) as api:
        assert quota(await api.get("/v1/instances"))[:2] == (PER_MINUTE, PER_MINUTE - 1)
        loose = await admin.patch(f"/v1/partners/{partner_id}", json={"rate_limit": "5 / Minutes"})
        assert_problem(loose, 422, "validation-error")  # one way of writing it, as the schema says
        changed = await admin.patch(f"/v1/partners/{partner_id}", json={"rate_limit": "5/minute"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["rate_limit"] == "5/minute"
        assert (await admin.get(f"/v1/partners/{partner_id}")).json()["rate_limit"] == "5/minute"
        await asyncio.sleep(1.1)
        assert quota(await api.get("/v1/instances"))[:2] == (5, 4)
        # Back to the default with null; a field left out changes nothing.
        assert (await admin.patch(f"/v1/partners/{partner_id}", json={})).json()["rate_limit"] == "5/minute"
        reset = await admin.patch(f"/v1/partners/{partner_id}", json={"rate_limit": None})
        assert reset.json()["rate_limit"] is None
        await asyncio.sleep(1.1)
        assert quota(await api.get("/v1/instances"))[0] == PER_MINUTE


async def test_a_partner_limit_is_checked(admin, api):
    invalid = await admin.patch(f"/v1/partners/{api.partner_id}", json={"rate_limit": "fast"})
    body = assert_problem(invalid, 422, "validation-error")
    assert body["errors"][0]["field"] == "body.rate_limit"
    assert "100/second" in body["errors"][0]["message"]  # the forms accepted, by example
    for out_of_bounds in ("0/second", "1000001/second", "5/86401 seconds"):
        refused = await admin.patch(f"/v1/partners/{api.partner_id}", json={"rate_limit": out_of_bounds})
        assert_problem(refused, 422, "validation-error")
    windowed = await admin.patch(f"/v1/partners/{api.partner_id}", json={"rate_limit": "500/10 seconds"})
    assert windowed.json()["rate_limit"] == "500/10 seconds"
    unknown = await admin.patch(
        "/v1/partners/00000000-0000-4000-8000-000000000000", json={"rate_limit": None}
    )
    assert_problem(unknown, 404, "not-found")
    not_master = await api.patch(f"/v1/partners/{api.partner_id}", json={"rate_limit": "1000/second"})
    assert_problem(not_master, 403, "master-key-required")


async def test_the_changing_process_applies_a_partner_limit_at_once(admin, api):
    assert int((await api.get("/v1/instances")).headers["ratelimit-limit"]) > 1000  # the tests' default
    changed = await admin.patch(f"/v1/partners/{api.partner_id}", json={"rate_limit": "1000/second"})
    assert changed.status_code == 200, changed.text
    assert quota(await api.get("/v1/instances"))[0] == 1000  # no second to wait in the same process


async def test_failed_authentications_are_throttled_per_address(database_url, admin):
    _, key = await new_key(admin)
    wrong = "ptc_0123456789abcdef_" + "x" * 32
    async with limited_app(database_url) as app, client(app, wrong) as guesser:
        for _ in range(PER_MINUTE):
            refused = assert_problem(await guesser.get("/v1/instances"), 401, "unauthorized")
            assert "retry" not in refused["detail"].lower()
        throttled = await guesser.get("/v1/instances")
        assert_problem(throttled, 429, "rate-limited")
        assert 0 < int(throttled.headers["retry-after"]) <= WINDOW
        assert "ratelimit-limit" not in throttled.headers  # no key's quota was counted
        # A malformed HTTP Basic on a page for people counts as a failure too.
        basic = {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode(), "Accept": "text/html"}
        async with client(app, None) as browser:
            page = await browser.get("/v1/portals/tt_p/report", headers=basic)
            assert page.status_code == 429
        # The same address with a valid key is served; another address is not throttled.
        async with client(app, key) as partner:
            assert (await partner.get("/v1/instances")).status_code == 200
        async with client(app, wrong, address="127.0.0.2") as elsewhere:
            assert_problem(await elsewhere.get("/v1/instances"), 401, "unauthorized")
        # No key at all is not a failed guess: nothing to throttle.
        async with client(app, None) as anonymous:
            assert_problem(await anonymous.get("/v1/instances"), 401, "unauthorized")


async def test_a_redis_that_does_not_answer_fails_open_to_the_process_counts(database_url, admin, caplog):
    _, key = await new_key(admin)
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    caplog.set_level(logging.WARNING, logger="portico.rate_limits")
    async with limited_app(database_url, redis_url=closed) as app, client(app, key) as api:
        answers = [await api.get("/v1/instances") for _ in range(PER_MINUTE + 1)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]  # still limited, here
    assert [quota(answer)[1] for answer in answers] == [2, 1, 0, 0]
    warnings = [record.getMessage() for record in caplog.records if record.name == "portico.rate_limits"]
    assert len(warnings) == 1, warnings  # once per outage, not once per request
    assert "Redis failed" in warnings[0]
    assert "failing open" in warnings[0]


@pytest.mark.parametrize("setting", ["rate_limit", "auth_failure_limit"])
def test_a_rate_setting_that_is_no_rate_is_refused(setting, monkeypatch):
    from app.config import ConfigError, load_settings  # noqa: PLC0415

    monkeypatch.setenv(f"PORTICO_{setting.upper()}", "lots")
    with pytest.raises(ConfigError, match=f"PORTICO_{setting.upper()}: .*100/second"):
        load_settings()


def test_a_redis_url_must_be_one(monkeypatch):
    from app.config import ConfigError, load_settings  # noqa: PLC0415

    monkeypatch.setenv("PORTICO_REDIS_URL", "http://127.0.0.1:6379")
    with pytest.raises(ConfigError, match="PORTICO_REDIS_URL"):
        load_settings()
