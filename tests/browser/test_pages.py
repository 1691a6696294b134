"""The procedure's browser steps in a real browser: the manual run URL (with the GESDENT appendix's
values as the procedure writes them), and the summary report's Web column, which another site's
page cannot use."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import expect

from tests.browser.conftest import LiveServer, closed_context, serving
from tests.conftest import MASTER_KEY
from tests.sync.conftest import TEST_CONFIG
from tests.sync.sandbox_server import SandboxServer, start_sandbox

RUN_MS = 60_000  # a run of the test sandbox takes about a second; the page refreshes every 2 s


@pytest.fixture(scope="module")
def gesdent() -> Iterator[SandboxServer]:
    server = start_sandbox(TEST_CONFIG)
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def live_server(
    app: FastAPI, database_url: str, gesdent: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveServer]:
    """The deployment's GESDENT address is the sandbox: the procedure's rules name none."""
    folder = tmp_path_factory.mktemp("pages-server")
    async with serving(database_url, folder, PORTICO_GESDENT_BASE_URL=gesdent.url) as server:
        yield server


class KeyHolder(httpx.AsyncClient):
    """A client holding a partner's API key, which the pages also take as the password to sign in."""

    key: str


@pytest.fixture
async def partner(live_server: LiveServer, admin: httpx.AsyncClient) -> AsyncIterator[KeyHolder]:
    """A partner's client of the live server, over real HTTP; `.key` is its API key. (`admin` empties
    the database after the test.)"""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as master:
        master.headers["Authorization"] = f"Bearer {MASTER_KEY}"
        created = await master.post("/v1/partners", json={"name": "browser partner"})
        key = (await master.post(f"/v1/partners/{created.json()['id']}/api-keys", json={"name": "b"})).json()
    async with KeyHolder(
        base_url=live_server.url, timeout=30, headers={"Authorization": f"Bearer {key['key']}"}
    ) as client:
        client.key = key["key"]
        yield client


async def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


async def test_the_gesdent_appendix_as_the_procedure_writes_it(browser, live_server, partner, gesdent):
    """Clone a centre with the database name `sanitas_gesdent_digest` and a member code; SYNC rules
    pasted as `user: password` and a comma-separated resource string, no address of their own; then
    the manual run URL in a browser, signed in with the API key, followed until the run succeeds."""
    await _ok(await partner.post("/v1/instances", json={"name": "portal_sanitas"}))
    await _ok(await partner.post("/v1/portals", json={"instance": "portal_sanitas"}))
    await _ok(await partner.post("/v1/instances", json={"name": "gesdent_model"}))
    await _ok(await partner.post("/v1/portals/portal_sanitas/members", json={"instance": "gesdent_model"}))
    cloned = await _ok(
        await partner.post(
            "/v1/instances/gesdent_model/clone",
            json={"name": "sanitas_gesdent_digest", "member_code": "SAN-0042", "join_portal": True},
        )
    )
    assert cloned["instance"]["name"] == "tt_sanitas_gesdent_digest"
    assert cloned["instance"]["member_code"] == "SAN-0042"
    rules = {
        "enabled": False,  # no scheduled run: the one this test watches is the manual run it starts
        "resource_ids": ", ".join(gesdent.resource_ids),
        "credentials": {
            family: f"{credential.username}: {credential.password}"  # as the procedure writes it
            for family, credential in gesdent.credentials.items()
        },
    }
    configured = await _ok(await partner.put("/v1/instances/sanitas_gesdent_digest/gesdent", json=rules))
    assert configured["resource_ids"] == gesdent.resource_ids
    assert (configured["base_url"], configured["base_url_source"]) == (None, "deployment")
    assert configured["effective_base_url"] == gesdent.url

    signed_in = {"username": "sanitas", "password": partner.key}
    async with closed_context(browser, live_server.url, http_credentials=signed_in) as network:
        page = await network.new_page()
        response = await page.goto(
            f"{live_server.url}/cron_importer_gesdent.php?dbName=tt_sanitas_gesdent_digest"
        )
        assert response is not None
        assert response.status in (200, 202)
        await expect(page.locator("#run-status")).to_have_text("succeeded", timeout=RUN_MS)
        users = page.locator('#run-counts tr[data-stream="users"] td').nth(2)  # created
        await expect(users).to_have_text(str(TEST_CONFIG.patients))
        assert network.blocked == []
    runs = (await partner.get("/v1/instances/tt_sanitas_gesdent_digest/sync-runs")).json()["items"]
    manual = [run for run in runs if run["trigger"] == "manual"]
    assert len(manual) == 1, runs
    assert manual[0]["status"] == "succeeded", runs
    report = await _ok(await partner.get("/v1/portals/portal_sanitas/report"))
    assert {m["name"]: m["last_sync"] is not None for m in report["members"]}["tt_sanitas_gesdent_digest"]


async def _report_portal(partner: httpx.AsyncClient) -> None:
    await _ok(await partner.post("/v1/instances", json={"name": "tt_portal"}))
    await _ok(await partner.post("/v1/portals", json={"instance": "tt_portal"}))
    await _ok(await partner.post("/v1/instances", json={"name": "tt_clinic"}))
    await _ok(await partner.post("/v1/portals/tt_portal/members", json={"instance": "tt_clinic"}))
    for instance, code, web in (
        ("tt_portal", "LIMP", True),
        ("tt_clinic", "L1", True),
        ("tt_clinic", "Z1", False),
    ):
        body = {"code": code, "name": f"Service {code}", "duration_minutes": 30, "web_enabled": web}
        await _ok(await partner.post(f"/v1/instances/{instance}/services", json=body))
    mapping = {"member_service": "L1", "portal_service": "LIMP"}
    await _ok(await partner.post("/v1/portals/tt_portal/members/tt_clinic/mappings", json=mapping))


async def _web_enabled(partner: httpx.AsyncClient, code: str) -> bool:
    return bool((await _ok(await partner.get(f"/v1/instances/tt_clinic/services/{code}")))["web_enabled"])


async def test_clicking_a_green_bullet_switches_the_service_off(browser, live_server, partner):
    await _report_portal(partner)
    signed_in = {"username": "me", "password": partner.key}
    async with closed_context(browser, live_server.url, http_credentials=signed_in) as network:
        page = await network.new_page()
        await page.set_viewport_size({"width": 390, "height": 844})  # a phone
        await page.goto(f"{live_server.url}/v1/portals/tt_portal/report")
        await expect(page.locator("#readiness")).to_have_text("ready")
        services = page.locator('table.services[data-member="tt_clinic"]')
        green = services.locator('tr[data-code="L1"] button.bullet.on')
        await expect(green).to_be_visible()
        await expect(services.locator('tr[data-code="L1"] td').nth(2)).to_have_text("LIMP")
        await green.click()
        await expect(services.locator('tr[data-code="L1"] button.bullet.off')).to_be_visible()
        assert await _web_enabled(partner, "L1") is False
        grey = services.locator('tr[data-code="Z1"] button.bullet.off')
        await grey.click()
        await expect(services.locator('tr[data-code="Z1"] button.bullet.on')).to_be_visible()
        assert await _web_enabled(partner, "Z1") is True
        assert network.blocked == []
        assert network.errors == []


class _Hostile(BaseHTTPRequestHandler):
    """Another site: its page posts to Portico's Web column, as a form and with fetch()."""

    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def hostile_site() -> Iterator[tuple[str, type[_Hostile]]]:
    handler = type("Hostile", (_Hostile,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


async def test_a_page_from_another_site_cannot_switch_a_service(browser, live_server, partner, hostile_site):
    await _report_portal(partner)
    site, handler = hostile_site
    target = f"{live_server.url}/v1/portals/tt_portal/report/web"
    handler.page = f"""<!doctype html><html><body>
<form id="f" method="post" action="{target}">
<input name="member" value="tt_clinic"><input name="set" value="off:L1"><input name="page" value="1">
<input name="csrf_token" value="1700000000.guessed">
</form>
<script>
fetch("{target}", {{method: "POST", mode: "no-cors", credentials: "include",
  headers: {{"Content-Type": "application/x-www-form-urlencoded"}},
  body: "member=tt_clinic&set=off%3AL1&page=1"}}).finally(() => document.getElementById("f").submit());
</script></body></html>""".encode()
    # The browser holds the partner's credentials for Portico, as after signing in to the report.
    signed_in = {"username": "me", "password": partner.key, "origin": live_server.url}
    async with closed_context(browser, live_server.url, site, http_credentials=signed_in) as network:
        page = await network.new_page()
        await page.goto(f"{live_server.url}/v1/portals/tt_portal/report")  # signed in, token issued
        await expect(page.locator("#readiness")).to_have_text("ready")
        await page.goto(site)
        await page.wait_for_url(lambda url: url.startswith(live_server.url))  # the form went to Portico
        await page.wait_for_load_state()
        assert network.blocked == []
        assert await _web_enabled(partner, "L1") is True
        assert "Portico's forms can only be sent from Portico's own pages" in await page.content()
