"""The peer of bench/api.py: a bare Starlette + asyncpg app that answers GET /v1/instances/{name} as
Portico does, with the least a correct answer needs: the API key found by its lookup and checked by
its hash and scope (one query), the caller's instance with its kind (one query), the same JSON body
and ETag. No ORM, no dependency injection, no middleware, no transaction: what Portico's answer costs
at the bottom, to measure Portico's overhead against.

    cd bench && PEER_DATABASE_URL=postgresql://… ../.venv/bin/uvicorn api_peer:app

It is served by the same uvicorn as Portico; bench/api.py starts and stops it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

KEY_SQL = "SELECT id, partner_id, key_hash, scopes, revoked_at FROM api_keys WHERE lookup = $1"
INSTANCE_SQL = """
SELECT i.id, i.name, i.display_name, i.member_code, i.cloned_from, i.time_zone, i.version, i.created_at,
       i.updated_at, s.value AS portal_setting, p.name AS member_of
FROM instances i
LEFT JOIN instance_settings s ON s.instance_id = i.id AND s.key = 'portalInstanceName'
LEFT JOIN memberships m ON m.member_id = i.id
LEFT JOIN instances p ON p.id = m.portal_id
WHERE i.partner_id = $1 AND i.name = $2
"""


def _problem(status: int, title: str) -> Response:
    body = {"type": f"/problems/{title.lower().replace(' ', '-')}", "title": title, "status": status}
    return JSONResponse(body, status, media_type="application/problem+json")


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _etag(*parts: Any) -> str:
    """As app/etags.py tags an instance."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


async def _partner_of(pool: asyncpg.Pool, authorization: str) -> str | None:
    """The partner of a valid, unrevoked key carrying instances:read; None otherwise."""
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.startswith("ptc_"):
        return None
    lookup = key[4:].partition("_")[0]
    row = await pool.fetchrow(KEY_SQL, lookup)
    if row is None or row["revoked_at"] is not None:
        return None
    if not hmac.compare_digest(row["key_hash"], hashlib.sha256(key.encode()).hexdigest()):
        return None
    return str(row["partner_id"]) if "instances:read" in row["scopes"].split() else None


async def get_instance(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    partner = await _partner_of(pool, request.headers.get("authorization", ""))
    if partner is None:
        return _problem(401, "Unauthorized")
    row = await pool.fetchrow(INSTANCE_SQL, partner, request.path_params["name"])
    if row is None:
        return _problem(404, "Not Found")
    if row["portal_setting"] == "portal":
        kind = "portal"
    elif row["member_of"] is not None:
        kind = "member"
    else:
        kind = "standalone"
    body = {
        "name": row["name"],
        "display_name": row["display_name"],
        "member_code": row["member_code"],
        "kind": kind,
        "portal": row["member_of"],
        "cloned_from": row["cloned_from"],
        "time_zone": row["time_zone"],
        "version": row["version"],
        "created_at": _utc(row["created_at"]),
        "updated_at": _utc(row["updated_at"]),
    }
    etag = _etag("instance", row["id"], row["version"], kind, row["member_of"])
    return JSONResponse(body, headers={"ETag": etag})


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # The pool Portico's engine has by default (app/config.py: db_pool_size, each kept once opened).
    async with asyncpg.create_pool(os.environ["PEER_DATABASE_URL"], min_size=1, max_size=30) as pool:
        app.state.pool = pool
        yield


app = Starlette(
    routes=[Route("/v1/instances/{name}", get_instance), Route("/healthz", healthz)], lifespan=lifespan
)
