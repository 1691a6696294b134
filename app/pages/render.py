"""Rendering the pages: one Jinja2 environment, autoescaped, and the headers every page carries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from importlib.resources import files
from typing import Any

from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from app.request_log import current_request_id

ASSETS_URL = "/pages/assets"

# No script at all; styles from our own stylesheet; forms post only to Portico; never in a frame
# (a framed report could be clicked by a page that hides it: clickjacking).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # pages hold a partner's data, seen through its key
    "Vary": "Accept, Authorization",
}


# Where a browser says a request comes from (Sec-Fetch-Site): Portico's own pages, or no site at all
# (a bookmark, a typed URL). Anything else is another site using the credentials the browser keeps.
_OWN_SITE = frozenset({"same-origin", "none"})


def from_another_site(request: Request) -> bool:
    """A browser request started by another site (absent for scripts and older browsers)."""
    site = request.headers.get("sec-fetch-site")
    return site is not None and site not in _OWN_SITE


def _moment(value: object) -> str:
    """A timestamp for people: `2026-12-01 09:30:05 UTC`."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


_environment = Environment(
    loader=PackageLoader("app.pages", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["moment"] = _moment


class PageAssets(StaticFiles):
    """The pages' stylesheet."""

    def __init__(self) -> None:
        super().__init__(directory=str(files("app.pages") / "static"))


def page(
    request: Request,
    template: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    **context: Any,
) -> HTMLResponse:
    """An HTML page from `template`, with the headers every page carries."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    body = _environment.get_template(template).render(root=root, assets=root + ASSETS_URL, **context)
    response = HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)
    for name, value in headers.items() if isinstance(headers, Mapping) else headers or ():
        response.headers.append(name, value)
    return response


def problem_page(
    request: Request,
    status: int,
    title: str,
    detail: str | None,
    *,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
    extensions: Mapping[str, Any],
) -> HTMLResponse:
    """An error of a page, for people: what went wrong and, for a mistyped name, links to the
    caller's own instances it most likely meant."""
    wrong = extensions.get("instance")
    alternatives = []
    for suggestion in extensions.get("suggestions") or ():
        if isinstance(wrong, str):
            url = request.url.replace(
                path=request.url.path.replace(wrong, suggestion),
                query=(request.url.query or "").replace(wrong, suggestion),
            )
            alternatives.append((suggestion, f"{url.path}?{url.query}" if url.query else url.path))
    errors = extensions.get("errors") or []
    return page(
        request,
        "problem.html",
        status=status,
        headers=headers,
        status_code=status,
        title=title,
        detail=detail,
        errors=errors,
        alternatives=alternatives,
        sign_in=status == HTTPStatus.UNAUTHORIZED,
        request_id=current_request_id(),  # what the operator finds the request's log lines by
    )
