"""CORS: off unless PORTICO_CORS_ORIGINS names origins; then preflights are answered for them, and
their pages may read ETag, Location, Link and Retry-After."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.config import ConfigError, Settings, load_settings
from app.main import create_app
from tests.conftest import BASE_URL, MASTER_KEY, SECRET_KEY, create_instance

ORIGIN = "https://app.example"


def _cors_headers(response):
    return {name for name in response.headers if name.startswith("access-control-")}


@pytest.fixture
async def cors_app(database_url: str) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=database_url,
        master_key=MASTER_KEY,
        secret_keys=SECRET_KEY,
        scheduler=False,
        auto_migrate=False,  # the session's app migrated it
        cors_origins=f"{ORIGIN}, http://localhost:3000",
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def browser(cors_app, api) -> AsyncIterator[httpx.AsyncClient]:
    """The partner's key, sent by a page of ORIGIN to the app with CORS on."""
    headers = {"Authorization": api.headers["authorization"], "Origin": ORIGIN}
    transport = httpx.ASGITransport(app=cors_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as client:
        yield client


def _preflight(method="PATCH", headers="authorization, content-type, if-match, if-none-match", origin=ORIGIN):
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


async def test_a_preflight_from_a_listed_origin_is_allowed(browser):
    response = await browser.options("/v1/instances/tt_clinic", headers=_preflight())
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "PATCH" in response.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "if-none-match"} <= allowed
    assert "access-control-allow-credentials" not in response.headers


async def test_a_listed_origin_may_read_the_headers_it_needs(browser, api):
    await create_instance(api, "tt_clinic")
    response = await browser.get("/v1/instances/tt_clinic")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    rate_limit = {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy"}
    assert exposed == {"etag", "location", "link", "retry-after", "x-request-id", *rate_limit}
    assert "origin" in response.headers["vary"].lower()
    # Problems too: the page can show why.
    missing = await browser.get("/v1/instances/tt_nowhere")
    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == ORIGIN


async def test_another_origin_gets_no_cors(browser):
    other = "https://evil.example"
    preflight = await browser.options("/v1/instances", headers=_preflight(method="POST", origin=other))
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    response = await browser.get("/v1/instances", headers={"Origin": other})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_a_header_that_is_not_allowed_fails_the_preflight(browser):
    response = await browser.options("/v1/instances", headers=_preflight(headers="x-custom"))
    assert response.status_code == 400


async def test_without_the_setting_there_is_no_cors_at_all(api, anon):
    await create_instance(api, "tt_clinic")
    preflight = await anon.options("/v1/instances/tt_clinic", headers=_preflight())
    assert preflight.status_code == 204  # OPTIONS as any client gets it, without CORS
    assert _cors_headers(preflight) == set()
    response = await api.get("/v1/instances/tt_clinic", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert _cors_headers(response) == set()


@pytest.mark.parametrize(
    "origins",
    [
        "*",
        "app.example",
        "https://app.example/",
        "https://app.example/path",
        "ftp://app.example",
        "https://user@app.example",
        "https://app.example:99999",
        "https://app.example:x",
        "https://",
    ],
)
def test_an_origin_that_is_not_one_stops_the_start(monkeypatch, origins):
    monkeypatch.setenv("PORTICO_CORS_ORIGINS", f"http://localhost:3000,{origins}")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith("PORTICO_CORS_ORIGINS: ")
    assert "\n" not in message


def test_origins_are_kept_as_browsers_send_them(monkeypatch):
    monkeypatch.setenv(
        "PORTICO_CORS_ORIGINS", " HTTPS://App.Example , http://[::1]:8080,,http://localhost:3000 "
    )
    settings = load_settings()
    assert settings.cors_origin_list == ["https://app.example", "http://[::1]:8080", "http://localhost:3000"]
    monkeypatch.setenv("PORTICO_CORS_ORIGINS", "")
    assert load_settings().cors_origin_list == []
