"""API keys, scopes and the current principal."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.repositories import api_keys as repo
from app.db.session import SessionDep
from app.domain.errors import MasterKeyNotAllowed, MasterKeyRequired, MissingScope, RateLimited, Unauthorized
from app.key_cache import KeyCache
from app.negotiation import wants_html
from app.openapi_contract import counts_quota, for_people, raises
from app.rate_limit_headers import note_quota
from app.rate_limits import Quota, RateLimiter
from app.request_log import note_caller

KEY_PREFIX = "ptc_"
LOOKUP_BYTES = 8  # the lookup part of a key: this many random bytes, in hex


class Scope(StrEnum):
    """What an API key may do: read (`instances:read`) or change (`instances:write`) instances and
    what they hold, promote portals and manage their members and mappings (`portals:write`), read
    (`sync:read`) or trigger (`sync:run`) syncs, read patients' data (`patients:read`), revoke
    the partner's other keys (`keys:write`), and read (`webhooks:read`) or manage (`webhooks:write`)
    the webhook endpoints that receive the partner's events."""

    INSTANCES_READ = "instances:read"
    INSTANCES_WRITE = "instances:write"
    PORTALS_WRITE = "portals:write"
    SYNC_READ = "sync:read"
    SYNC_RUN = "sync:run"
    PATIENTS_READ = "patients:read"
    KEYS_WRITE = "keys:write"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"


# A new key gets these unless the caller lists scopes: everything but personal data and the power
# to revoke the partner's other keys.
DEFAULT_SCOPES = tuple(s for s in Scope if s not in (Scope.PATIENTS_READ, Scope.KEYS_WRITE))


@dataclass(frozen=True)
class Principal:
    """Who is calling: the operator (master key) or one partner's API key."""

    partner_id: str | None
    key_id: str | None
    scopes: frozenset[str]
    rate_limit: str | None = None  # the partner's own, travelling with the cached principal

    @property
    def is_master(self) -> bool:
        return self.partner_id is None


@dataclass(frozen=True)
class NewKey:
    plaintext: str
    lookup: str
    key_hash: str


def generate_key() -> NewKey:
    """A key `ptc_<lookup>_<secret>`: the lookup finds the row, the secret carries 192 random bits."""
    lookup = secrets.token_hex(LOOKUP_BYTES)
    plaintext = f"{KEY_PREFIX}{lookup}_{secrets.token_urlsafe(24)}"
    return NewKey(plaintext, lookup, hash_key(plaintext))


def hash_key(plaintext: str) -> str:
    # Keys carry ≥128 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def parse_lookup(plaintext: str) -> str | None:
    if not plaintext.startswith(KEY_PREFIX):
        return None
    lookup, sep, secret = plaintext[len(KEY_PREFIX) :].partition("_")
    if not sep or not secret or len(lookup) != 2 * LOOKUP_BYTES:
        return None
    return lookup


_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API key>`")
BEARER_CHALLENGE = 'Bearer realm="portico"'
BASIC_CHALLENGE = 'Basic realm="Portico", charset="UTF-8"'


class _PageBasic(HTTPBasic):
    """Declares HTTP Basic in the spec for the pages meant for people; the header is read by
    `_page_principal`, which also answers the challenge."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


_basic = _PageBasic(
    auto_error=False,
    realm="Portico",
    description="Only on the pages for people (with `Accept: text/html`): any user name, the API key "
    "as password.",
)


@counts_quota
@raises(Unauthorized, RateLimited)
async def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller of a JSON route: a key in `Authorization: Bearer`, never anywhere else."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        basic = request.headers.get("authorization", "").lower().startswith("basic ")
        hint = " HTTP Basic is accepted only by the pages for people in a browser." if basic else ""
        raise _unauthorized(f"Send an API key as `Authorization: Bearer <key>`.{hint}")
    return await _principal_of(request, session, credentials.credentials, [BEARER_CHALLENGE])


@for_people
@counts_quota
@raises(Unauthorized, RateLimited)
async def _page_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _: Annotated[None, Depends(_basic)],
) -> Principal:
    """The caller of a page for people (the manual run URL, the summary report): Bearer, or HTTP
    Basic with the API key as password when a browser asks for HTML, so that a bookmark works.
    Basic is refused where a script asks for JSON: there, keys travel as Bearer only."""
    challenges = [BEARER_CHALLENGE, BASIC_CHALLENGE]
    if bearer is not None and bearer.scheme.lower() == "bearer":
        return await _principal_of(request, session, bearer.credentials, challenges)
    scheme, _sep, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise _unauthorized("Sign in with your API key as the password (any user name).", challenges)
    if not wants_html(request):
        raise _unauthorized(
            "HTTP Basic is accepted only by the pages for people (Accept: text/html); "
            "scripts send `Authorization: Bearer <key>`.",
            challenges,
        )
    try:
        _user, colon, key = base64.b64decode(token.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        colon = key = ""
    if not colon or not key:
        await _count_failure(request)
        raise _unauthorized("Sign in with your API key as the password (any user name).", challenges)
    return await _principal_of(request, session, key, challenges)


async def _principal_of(
    request: Request, session: AsyncSession, presented: str, challenges: list[str]
) -> Principal:
    master_key: str = request.app.state.master_key
    if hmac.compare_digest(presented.encode(), master_key.encode()):
        note_caller(None, None)
        return Principal(partner_id=None, key_id=None, scopes=frozenset(Scope))  # not rate limited
    digest = hash_key(presented)
    known: KeyCache[Principal] = request.app.state.principals
    principal = known.get(digest)
    if principal is None:
        lookup = parse_lookup(presented)
        found = await repo.get_by_lookup(session, lookup) if lookup else None
        row = found.key if found else None
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
            await _count_failure(request)
            raise _unauthorized("The API key is unknown or revoked.", challenges)
        scopes = frozenset(row.scopes.split())
        principal = Principal(row.partner_id, row.id, scopes, found.rate_limit if found else None)
        known.put(digest, principal)
    note_caller(principal.partner_id, principal.key_id)  # for the request's log line: ids, never the key
    limiter: RateLimiter = request.app.state.rate_limiter
    quota = await limiter.spend(principal.key_id or "", principal.rate_limit)
    note_quota(quota)
    if not quota.allowed:
        raise _rate_limited(f"This API key may make {quota.limit} requests every {_window(quota)}.", quota)
    return principal


async def _count_failure(request: Request) -> None:
    """Count a failed authentication of the client's address: a 429 once it is over its budget."""
    limiter: RateLimiter = request.app.state.rate_limiter
    quota = await limiter.failed_authentication(request.client.host if request.client else "unknown")
    if not quota.allowed:
        detail = f"Too many failed authentications from your address: {quota.limit} every {_window(quota)}."
        raise _rate_limited(detail, quota)


def _rate_limited(detail: str, quota: Quota) -> RateLimited:
    error = RateLimited(detail + f" Retry in {max(1, quota.reset_seconds)} s.")
    error.headers = [("Retry-After", str(max(1, quota.reset_seconds)))]
    return error


def _window(quota: Quota) -> str:
    return "second" if quota.window_seconds == 1 else f"{quota.window_seconds} seconds"


def forget_key(request: Request, key_id: str) -> None:
    """Refuse a key revoked by this request at once in this process (other processes: within the
    cache's TTL, app/key_cache.py)."""
    known: KeyCache[Principal] = request.app.state.principals
    known.forget(lambda principal: principal.key_id == key_id)


def forget_partner(request: Request, partner_id: str) -> None:
    """Read the partner's keys again on their next request (its rate limit changed) in this process."""
    known: KeyCache[Principal] = request.app.state.principals
    known.forget(lambda principal: principal.partner_id == partner_id)


def _unauthorized(detail: str, challenges: list[str] | None = None) -> Unauthorized:
    error = Unauthorized(detail)
    error.headers = [("WWW-Authenticate", challenge) for challenge in challenges or [BEARER_CHALLENGE]]
    return error


def require(scope: Scope, *, page: bool = False) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: a partner key carrying `scope`. The master key is refused with a hint. With
    `page`, the route is a page for people too, and takes HTTP Basic from a browser."""
    return _scoped(scope, page)


# One dependency per (scope, page): a route's principal and its lookups' (app/routers/deps.py) are
# then one dependency, which FastAPI solves once per request.
@functools.cache
def _scoped(scope: Scope, page: bool) -> Callable[[Principal], Awaitable[Principal]]:
    authenticate = _page_principal if page else current_principal

    # A default, not an annotation: annotations are resolved in the module's globals, and
    # `authenticate` is local.
    @raises(MissingScope, MasterKeyNotAllowed)
    async def dependency(principal: Principal = Depends(authenticate)) -> Principal:
        if principal.is_master:
            raise MasterKeyNotAllowed(
                "The master key administers partners and API keys only. Create a partner "
                "(POST /v1/partners) and an API key for it (POST /v1/partners/{id}/api-keys), then call "
                "this route with that key."
            )
        if scope not in principal.scopes:
            raise MissingScope(f"This route needs the scope '{scope}'.", required_scope=str(scope))
        return principal

    return dependency


@raises(MasterKeyRequired)
async def require_master(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_master:
        raise MasterKeyRequired("Partner administration needs the master key (PORTICO_MASTER_KEY).")
    return principal


AnyPrincipal = Annotated[Principal, Depends(current_principal)]
Master = Annotated[Principal, Depends(require_master)]
InstancesRead = Annotated[Principal, Depends(require(Scope.INSTANCES_READ))]
InstancesWrite = Annotated[Principal, Depends(require(Scope.INSTANCES_WRITE))]
PortalsWrite = Annotated[Principal, Depends(require(Scope.PORTALS_WRITE))]
SyncRead = Annotated[Principal, Depends(require(Scope.SYNC_READ))]
SyncRunner = Annotated[Principal, Depends(require(Scope.SYNC_RUN))]
PatientsRead = Annotated[Principal, Depends(require(Scope.PATIENTS_READ))]
WebhooksRead = Annotated[Principal, Depends(require(Scope.WEBHOOKS_READ))]
WebhooksWrite = Annotated[Principal, Depends(require(Scope.WEBHOOKS_WRITE))]
# The pages for people: the same scopes, and HTTP Basic from a browser.
PageInstancesRead = Annotated[Principal, Depends(require(Scope.INSTANCES_READ, page=True))]
PageInstancesWrite = Annotated[Principal, Depends(require(Scope.INSTANCES_WRITE, page=True))]
PageSyncRunner = Annotated[Principal, Depends(require(Scope.SYNC_RUN, page=True))]


def is_page_route(route: object) -> bool:
    """Whether a route is a page for people (it authenticates with `_page_principal`)."""
    dependant = getattr(route, "dependant", None)
    return dependant is not None and _uses(dependant, _page_principal)


def _uses(dependant: Any, call: object) -> bool:
    return dependant.call is call or any(_uses(sub, call) for sub in dependant.dependencies)
