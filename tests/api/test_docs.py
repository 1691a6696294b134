"""Swagger UI and ReDoc pages reference only Portico's own URLs (tests/browser renders them)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import pytest

from tests.conftest import assert_problem

# Every URL a page names: attributes, Swagger UI's `url: '…'`, anything absolute anywhere.
REFERENCE = re.compile(r"""(?:src|href|spec-url)="([^"]*)"|\burl: '([^']*)'|(https?:)""")
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}


def _references(html: str) -> list[str]:
    found = []
    for attribute, swagger_url, absolute in REFERENCE.findall(html):
        assert not absolute, f"an absolute URL in the page: {html}"
        found.append(attribute or swagger_url)
    return found


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_reference_only_their_own_assets(anon, page):
    async with anon:
        response = await anon.get(page)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        assert "http" not in policy, policy
        assert "*" not in policy, policy
        references = _references(response.text)
        assert "/openapi.json" in references, references
        assert len(references) >= 3, references  # the spec, the script, the favicon
        for url in references:
            assert url.startswith("/"), url
            assert not url.startswith("//"), url
            asset = await anon.get(url)
            assert asset.status_code == 200, (url, asset.text)
            suffix = PurePosixPath(urlsplit(url).path).suffix
            content_type = asset.headers["content-type"].split(";")[0]
            assert content_type in CONTENT_TYPES[suffix], (url, content_type)
            if url.startswith("/docs/assets/"):
                assert "max-age=31536000" in asset.headers["cache-control"], (url, asset.headers)


async def test_swagger_ui_fetches_no_validator_badge(anon):
    async with anon:
        html = (await anon.get("/docs")).text
    assert '"validatorUrl": null' in html, html


async def test_there_is_no_oauth2_redirect_page_and_no_other_asset(anon):
    async with anon:
        assert_problem(await anon.get("/docs/oauth2-redirect"), 404, "not-found")
        assert_problem(await anon.get("/docs/assets/core.py"), 404, "not-found")
        assert_problem(await anon.get("/docs/assets/../core.py"), 404, "not-found")
