"""PUT …/gesdent refuses a base_url that leads to a non-public address (SSRF), and never tells what
a host name resolves to."""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from tests.api.test_gesdent import RULES, URL
from tests.conftest import assert_problem, create_instance

ALLOW = "set PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS=true to allow it"


@pytest.fixture
async def private_networks_forbidden(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings
    settings.gesdent_allow_private_networks = False
    try:
        yield
    finally:
        settings.gesdent_allow_private_networks = True


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://100.100.100.200/", "points at a carrier-grade NAT address (100.100.100.200)"),
        ("https://192.0.0.192/api/", "points at an IETF protocol assignment address (192.0.0.192)"),
        (
            "http://[2002:a9fe:a9fe::]/",
            "points at a 6to4 address embedding a link-local address (2002:a9fe:a9fe::)",
        ),
    ],
)
async def test_the_reported_addresses_are_refused(
    api, private_networks_forbidden: None, url: str, message: str
) -> None:
    await create_instance(api, "tt_c")
    body = assert_problem(await api.put(URL, json={**RULES, "base_url": url}), 422, "validation-error")
    assert body["errors"] == [{"field": "body.base_url", "message": f"base_url {message}; {ALLOW}"}]


async def test_what_a_host_name_resolves_to_is_not_told(api, private_networks_forbidden: None) -> None:
    await create_instance(api, "tt_c")
    response = await api.put(URL, json={**RULES, "base_url": "http://localhost:8900/api/"})
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == [
        {
            "field": "body.base_url",
            "message": f"base_url host localhost resolves to a non-public address; {ALLOW}",
        }
    ]
    for revealing in ("127.0.0.1", "::1", "loopback"):
        assert revealing not in response.text
