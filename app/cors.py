"""CORS, for the browser applications of the origins in `PORTICO_CORS_ORIGINS`; off when it is empty.

Starlette's CORSMiddleware answers the preflights and adds the response headers, as the Fetch standard
has them, rather than code of Portico's. It is the outermost middleware, so that every answer (the
problems included) carries the headers a browser needs to show it to the calling page. Without the
setting it is not installed at all: no answer carries a CORS header, and browsers keep other sites'
pages from reading Portico's answers.

The pages send their API key in `Authorization` (`Bearer`); no credentials of the browser's (cookies,
HTTP Basic it remembers) are allowed across origins, so another site cannot use the report page's
sign-in.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# What a calling page may send, beyond the headers the Fetch standard always allows.
ALLOWED_HEADERS = ("Authorization", "Content-Type", "If-Match", "If-None-Match", "X-Request-ID")
# What a calling page may read, beyond the headers the Fetch standard always exposes.
EXPOSED_HEADERS = (
    "ETag",
    "Location",
    "Link",
    "Retry-After",
    "X-Request-ID",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
)
PREFLIGHT_SECONDS = 600  # how long a browser may keep a preflight's answer


def install(app: FastAPI, origins: list[str]) -> None:
    """Add CORS for `origins`; nothing when there are none. Call it after every other middleware."""
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            allow_credentials=False,
            max_age=PREFLIGHT_SECONDS,
        )
