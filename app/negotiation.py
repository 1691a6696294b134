"""Content negotiation on `Accept`: which of the representations a route offers the client prefers."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.requests import Request

JSON = "application/json"
CSV = "text/csv"
HTML = "text/html"


def qualities(header: str) -> dict[str, float]:
    """The items of an Accept-style header (`Accept`, `Accept-Encoding`) with their q-values, lower
    case; an item named twice keeps its first q-value, and a q-value that is not a number is 0."""
    ranked: dict[str, float] = {}
    for part in header.split(","):
        item, *params = (piece.strip().lower() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        if item:
            ranked.setdefault(item, quality)
    return ranked


def negotiate(accept: str | None, offers: Sequence[str]) -> str:
    """The offer the client ranks highest (RFC 9110 §12.5.1: the most specific range that matches
    gives an offer its quality). Ties, and a missing or unusable Accept, go to the earliest offer, so
    `offers[0]` is the default: scripts that send `*/*` get it, browsers that name text/html get HTML."""
    if not accept:
        return offers[0]
    ranges = qualities(accept)

    def quality_of(offer: str) -> float:
        kind = offer.split("/", 1)[0]
        for media_range in (offer, f"{kind}/*", "*/*"):
            if media_range in ranges:
                return ranges[media_range]
        return 0.0

    best = max(offers, key=quality_of)  # max keeps the first of equals
    return best if quality_of(best) > 0 else offers[0]


def accepts_coding(accept_encoding: str | None, coding: str) -> bool:
    """Whether `Accept-Encoding` allows a content coding (RFC 9110 §12.5.3): named with a q-value
    above 0, or not named and `*` is."""
    ranked = qualities(accept_encoding or "")
    return ranked.get(coding, ranked.get("*", 0.0)) > 0


def wants_html(request: Request) -> bool:
    """A browser, rather than a script: it ranks text/html above JSON."""
    return negotiate(request.headers.get("accept"), (JSON, HTML)) == HTML


def vary_on(headers: MutableHeaders, name: str) -> None:
    """Add `name` to the response's `Vary`, once: the answer depends on that request header."""
    present = [item.strip().lower() for item in headers.get("vary", "").split(",") if item.strip()]
    if "*" not in present and name.lower() not in present:
        headers["Vary"] = ", ".join([headers["vary"], name]) if present else name
