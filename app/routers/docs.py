"""The API documentation, Swagger UI (`/docs`) and ReDoc (`/redoc`), served with their own assets so
they render with no internet access (no CDN, no Google Fonts, no validator badge)."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.metadata import version
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

ASSETS_URL = "/docs/assets"
# The bundled files change only with the package, so its version in their URLs lets browsers keep
# them for a year and still fetch the new ones after an upgrade.
_ASSETS_VERSION = version("fastapi-offline")

# Both pages may load nothing from another origin: ReDoc's menu shows a logo from cdn.redoc.ly, and
# whatever else either bundle might reach for stays in the browser. Both style elements inline.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


class DocsAssets(StaticFiles):
    """Swagger UI and ReDoc's files from the `fastapi-offline` package, with long cache headers."""

    def __init__(self) -> None:
        super().__init__(directory=str(files("fastapi_offline") / "static"))

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _asset(request: Request, name: str) -> str:
    return f"{_root(request)}{ASSETS_URL}/{name}?v={_ASSETS_VERSION}"


def _openapi_url(request: Request) -> str:
    return f"{_root(request)}{request.app.openapi_url}"


def _confined(page: HTMLResponse) -> HTMLResponse:
    """The page with its Content-Security-Policy, which allows its own inline scripts by hash."""
    digests = (hashlib.sha256(script).digest() for script in _INLINE_SCRIPT.findall(page.body))
    scripts = " ".join(f"'sha256-{base64.b64encode(digest).decode()}'" for digest in digests)
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(scripts=scripts)
    return page


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over `/openapi.json`."""
    page = get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=_asset(request, "swagger-ui-bundle.js"),
        swagger_css_url=_asset(request, "swagger-ui.css"),
        swagger_favicon_url=_asset(request, "favicon.png"),
        # Without this, Swagger UI shows a badge fetched from validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
    return _confined(page)


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc over `/openapi.json`."""
    page = get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=_asset(request, "redoc.standalone.js"),
        redoc_favicon_url=_asset(request, "favicon.png"),
        with_google_fonts=False,
    )
    return _confined(page)
