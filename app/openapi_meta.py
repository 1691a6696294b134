"""What the OpenAPI spec says about the API as a whole: its info, servers and tags, and which
operations are public."""

from __future__ import annotations

from typing import Any

DESCRIPTION = """\
Portico automates how a clinic booking platform sets up a **portal instance** with **member
instances**, and keeps each member's agenda in sync with its GESDENT server.

Authenticate with `Authorization: Bearer <API key>`. Errors are RFC 9457 problems whose `type`
is stable. Lists are keyset-paginated (`limit`, `cursor`, `next_cursor`, `Link`). Mutable
resources carry an `ETag`; send it back in `If-Match` to avoid lost updates, or in `If-None-Match`
to get a `304 Not Modified` when nothing changed.
"""

# Relative, so the committed spec does not depend on where a deployment is served: clients resolve
# it against the URL they fetched the spec from.
SERVERS = [{"url": "/", "description": "The Portico that serves this spec."}]

# One entry per tag the routes use, in the order of the procedure.
TAGS = [
    {"name": "health", "description": "Liveness and readiness probes. They need no key."},
    {
        "name": "partners",
        "description": "The partners of the platform and their API keys. The operator's routes (master key), "
        "but for revoking a key, which a partner may do for its own.",
    },
    {
        "name": "instances",
        "description": "A partner's instances: one clinic's booking database each, named `tt_…`. "
        "Create, read, rename, clone and delete them.",
    },
    {
        "name": "settings",
        "description": "An instance's settings, a map of key to text. `portalInstanceName=portal` makes the "
        "instance a portal.",
    },
    {
        "name": "communications",
        "description": "The general switch for an instance's automatic SMS, voice and e-mail. A portal with "
        "members keeps it off.",
    },
    {
        "name": "services",
        "description": "An instance's services (code, name, duration, price, online booking), one at a time "
        "or as a CSV import and export.",
    },
    {
        "name": "gesdent",
        "description": "How the sync reaches an instance's GESDENT server: base URL, credentials, resource "
        "IDs, schedule and webhook secret.",
    },
    {
        "name": "portals",
        "description": "Portals and their members: promote an instance, attach and detach members, and the "
        "portal's summary report.",
    },
    {
        "name": "mappings",
        "description": "Which portal service each member service stands for, and suggestions for the "
        "unmapped ones.",
    },
    {
        "name": "sync",
        "description": "The GESDENT import: trigger and watch runs, an instance's sync status, the signed "
        "change webhook and the old importer's run URL.",
    },
    {
        "name": "webhooks",
        "description": "Outbound events: the endpoints a partner's events are POSTed to, signed per "
        "Standard Webhooks, their delivery log, redelivery and a test event.",
    },
    {
        "name": "imported data",
        "description": "What the sync keeps from GESDENT, read-only: resources, patients, reservations and "
        "free slots, and a portal's availability across its members.",
    },
    {
        "name": "manifests",
        "description": "A whole portal and its members as one document: its schema, plan (what would "
        "change, nothing written), apply (all or nothing) and export.",
    },
    {
        "name": "audit",
        "description": "The trail of every configuration write: who changed what, when, through which "
        "operation, with each field before and after.",
    },
    {
        "name": "problems",
        "description": "The problem types errors come as: what each means and how to fix it. A problem's "
        "`type` URI answers its page. They need no key.",
    },
]

# The keyword arguments of FastAPI() that describe the API.
METADATA: dict[str, Any] = {
    "title": "Portico",
    "version": "1.0.0",
    "license_info": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
    "description": DESCRIPTION,
    "servers": SERVERS,
    "openapi_tags": TAGS,
}


def mark_public(spec: dict[str, Any]) -> None:
    """Give every operation without a security requirement an explicit `security: []`: it needs no
    key (the probes; the webhook, which its signature authenticates instead)."""
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation.setdefault("security", [])
