"""Browser tests: Debian's headless Chromium driven by Playwright, against a real `portico serve`
process on loopback, with every request that would leave the server's origin aborted and recorded."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, Route, WebSocketRoute, async_playwright

from tests.conftest import IN_CI, MASTER_KEY, SECRET_KEY
from tests.processes import LoggedProcess, free_port, portico_command, start, stop, wait_ready

CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests may run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    # Belt and braces under the routing of ClosedNetwork, for what Playwright cannot intercept
    # (preconnects, DNS prefetch, WebRTC): anything not on loopback goes to a proxy that is not there.
    "--proxy-server=http://127.0.0.1:9",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
]
READY_SECONDS = 30
STOP_SECONDS = 15


# --------------------------------------------------------------------------------------------------
# Chromium


def _chromium() -> tuple[str | None, str]:
    """The Chromium to drive, or None and why not."""
    configured = os.environ.get("PORTICO_TEST_CHROMIUM")
    if configured:
        if os.access(configured, os.X_OK):
            return configured, ""
        return None, f"PORTICO_TEST_CHROMIUM={configured} is not an executable"
    found = shutil.which("chromium")
    return found, "Chromium not found: apt-get install chromium, or set PORTICO_TEST_CHROMIUM"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium from the system (never a browser downloaded by Playwright)."""
    executable, reason = _chromium()
    if executable is None:
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


def origin(url: str) -> str:
    """`scheme://host:port` of a URL, as compared by ClosedNetwork."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass
class ClosedNetwork:
    """A browser context that reaches only `allowed` origins; every other request is aborted and its
    URL appended to `blocked`, so a test can assert that nothing tried to leave."""

    context: BrowserContext
    allowed: set[str]
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # uncaught exceptions in the pages

    def allow(self, url: str) -> None:
        """Also let requests reach this origin (another loopback server)."""
        self.allowed.add(origin(url))

    async def new_page(self) -> Page:
        page = await self.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    async def _route(self, route: Route) -> None:
        url = route.request.url
        if origin(url) in self.allowed:
            await route.continue_()
        else:
            self.blocked.append(url)
            await route.abort("blockedbyclient")

    async def _route_web_socket(self, socket_route: WebSocketRoute) -> None:
        url = socket_route.url
        http_origin = origin(url.replace("ws", "http", 1))  # ws:// -> http://, wss:// -> https://
        if http_origin in self.allowed:
            socket_route.connect_to_server()
        else:
            self.blocked.append(url)
            await socket_route.close(code=1008, reason="closed network")


@asynccontextmanager
async def closed_context(browser: Browser, *allowed: str, **options: Any) -> AsyncIterator[ClosedNetwork]:
    """A new context of `browser` that may reach only the origins of the `allowed` URLs; `options`
    go to `browser.new_context` (e.g. `http_credentials`)."""
    # Service workers would fetch around context.route; none of Portico's pages needs one.
    context = await browser.new_context(service_workers="block", **options)
    network = ClosedNetwork(context, {origin(url) for url in allowed})
    await context.route("**/*", network._route)
    await context.route_web_socket("**/*", network._route_web_socket)
    try:
        yield network
    finally:
        await context.close()


@pytest.fixture
async def closed_network(browser: Browser, live_server: LiveServer) -> AsyncIterator[ClosedNetwork]:
    """A context that reaches the live server only (`closed_network.allow(url)` adds an origin)."""
    async with closed_context(browser, live_server.url) as network:
        yield network


# --------------------------------------------------------------------------------------------------
# A real `portico serve`


@dataclass
class LiveServer:
    url: str
    process: LoggedProcess

    def output(self) -> str:
        """What the process wrote so far (stdout and stderr)."""
        return self.process.output()


@asynccontextmanager
async def serving(database_url: str, folder: Path, **extra_env: str) -> AsyncIterator[LiveServer]:
    """`portico serve` on a free loopback port and `database_url`, with its scheduler on and
    `extra_env` (PORTICO_* settings) on top of the tests' own, until the block ends."""
    port = free_port()
    env = {
        **os.environ,
        "PORTICO_DATABASE_URL": database_url,
        "PORTICO_MASTER_KEY": MASTER_KEY,
        "PORTICO_SECRET_KEYS": SECRET_KEY,
        "PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS": "true",
        "PORTICO_SCHEDULER": "true",
        "PORTICO_SCHEDULER_TICK_SECONDS": "0.5",
        "PORTICO_AUTO_MIGRATE": "true",
        **extra_env,
    }
    command = portico_command("serve", "--host", "127.0.0.1", "--port", str(port))
    process = start("portico serve", command, folder / "serve.log", env=env)
    server = LiveServer(f"http://127.0.0.1:{port}", process)
    ready = False
    try:
        # In threads: the event loop stays free for the tests' own servers and clients meanwhile.
        await asyncio.to_thread(wait_ready, f"{server.url}/readyz", process, READY_SECONDS)
        ready = True
        yield server
    finally:
        # A start-up failure has already said why; after a good start, it must stop cleanly on SIGTERM.
        await asyncio.to_thread(stop, process, seconds=STOP_SECONDS, check=ready)


@pytest.fixture(scope="module")
async def live_server(
    app: FastAPI, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveServer]:
    """`portico serve` on the in-process app's database (migrated by `app`). Module-scoped: its
    scheduler must not run beside other modules' tests, which drive the sync queue themselves."""
    async with serving(database_url, tmp_path_factory.mktemp("live-server")) as server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used the live server shows what the server wrote."""
    report: pytest.TestReport = yield
    server = getattr(item, "funcargs", {}).get("live_server")
    if report.when == "call" and report.failed and isinstance(server, LiveServer):
        report.sections.append(("portico serve output", server.output()[-20_000:]))
    return report
