"""The API documentation renders in a browser that cannot leave loopback (issue 8)."""

from __future__ import annotations

from playwright.async_api import Locator, expect

from tests.browser.conftest import ClosedNetwork

# Rendering the whole spec takes a few seconds on a busy machine.
RENDER_MS = 30_000


async def _wait_visible(locator: Locator, network: ClosedNetwork) -> None:
    """Wait for `locator`; when it never shows, say what the page tried to fetch from outside."""
    try:
        await expect(locator).to_be_visible(timeout=RENDER_MS)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nblocked: {network.blocked}\npage errors: {network.errors}") from None


async def test_swagger_ui_renders_the_operations_offline(closed_network, live_server):
    page = await closed_network.new_page()
    await page.goto(f"{live_server.url}/docs")
    operation = page.locator("#operations-instances-instances_create")
    await _wait_visible(operation, closed_network)
    await expect(operation.locator(".opblock-summary-path")).to_have_text("/v1/instances")
    await page.wait_for_load_state("networkidle")
    assert closed_network.blocked == [], "the page tried to leave loopback"
    assert closed_network.errors == []


async def test_redoc_renders_the_operations_offline(closed_network, live_server):
    page = await closed_network.new_page()
    await page.goto(f"{live_server.url}/redoc")
    heading = page.locator('[data-section-id="operation/instances_create"] h2')
    await _wait_visible(heading, closed_network)
    await expect(heading).to_have_text("Create Instance")
    await page.wait_for_load_state("networkidle")
    assert closed_network.blocked == [], "the page tried to leave loopback"
    assert closed_network.errors == []
