"""API keys, scopes and the current principal."""

from __future__ import annotations

import base64
import functools
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app import quotas
from app.audit import context as audit
from app.db.repositories import api_keys as repo
from app.db.session import request_session
from app.domain.api_keys import KEY_PREFIX, hash_key, parse_lookup
from app.domain.errors import MasterKeyNotAllowed, MasterKeyRequired, MissingScope, RateLimited, Unauthorized
from app.key_cache import KeyCache
from app.negotiation import wants_html
from app.openapi_contract import counts_quota, for_people, raises
from app.openapi_idempotency import bearer
from app.request_log import note_caller


class Scope(StrEnum):
    """What an API key may do: read (`instances:read`) or change (`instances:write`) instances and
    what they hold, promote portals and manage their members and mappings (`portals:write`), read
    (`sync:read`) or trigger (`sync:run`) syncs, read patients' data (`patients:read`), revoke
    the partner's other keys (`keys:write`), and read (`webhooks:read`) or manage (`webhooks:write`)
    the webhook endpoints that receive the partner's events, and read the partner's audit trail
    (`audit:read`)."""

    INSTANCES_READ = "instances:read"
    INSTANCES_WRITE = "instances:write"
    PORTALS_WRITE = "portals:write"
    SYNC_READ = "sync:read"
    SYNC_RUN = "sync:run"
    PATIENTS_READ = "patients:read"
    KEYS_WRITE = "keys:write"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"
    AUDIT_READ = "audit:read"


# A new key gets these unless the caller lists scopes: everything but personal data and the power
# to revoke the partner's other keys.
DEFAULT_SCOPES = tuple(s for s in Scope if s not in (Scope.PATIENTS_READ, Scope.KEYS_WRITE))


@dataclass(frozen=True)
class Principal:
    """Who is calling: the operator (master key) or one partner's API key."""

    partner_id: str | None
    key_id: str | None
    scopes: frozenset[str]
    key_prefix: str | None = None  # `ptc_<lookup>`: what the audit trail shows of the key
    rate_limit: str | None = None  # the partner's own, travelling with the cached principal

    @property
    def is_master(self) -> bool:
        return self.partner_id is None


BEARER_CHALLENGE = 'Bearer realm="portico"'
BASIC_CHALLENGE = 'Basic realm="Portico", charset="UTF-8"'


def _authorization(request: Request) -> tuple[str, str]:
    """The scheme (lower case) and the credentials of the request's `Authorization` header."""
    scheme, _sep, credentials = request.headers.get("authorization", "").partition(" ")
    return scheme.lower(), credentials.strip()


@bearer
@counts_quota
@raises(Unauthorized, RateLimited)
async def current_principal(request: Request) -> Principal:
    """The caller of a JSON route: a key in `Authorization: Bearer`, never anywhere else."""
    scheme, credentials = _authorization(request)
    if scheme != "bearer" or not credentials:
        hint = (
            " HTTP Basic is accepted only by the pages for people in a browser." if scheme == "basic" else ""
        )
        raise _unauthorized(f"Send an API key as `Authorization: Bearer <key>`.{hint}")
    return await _principal_of(request, credentials, [BEARER_CHALLENGE])


@for_people
@counts_quota
@raises(Unauthorized, RateLimited)
async def _page_principal(request: Request) -> Principal:
    """The caller of a page for people (the manual run URL, the summary report): Bearer, or HTTP
    Basic with the API key as password when a browser asks for HTML, so that a bookmark works.
    Basic is refused where a script asks for JSON: there, keys travel as Bearer only."""
    challenges = [BEARER_CHALLENGE, BASIC_CHALLENGE]
    scheme, token = _authorization(request)
    if scheme == "bearer" and token:
        return await _principal_of(request, token, challenges)
    if scheme != "basic":
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
        await quotas.count_failure(request)
        raise _unauthorized("Sign in with your API key as the password (any user name).", challenges)
    return await _principal_of(request, key, challenges)


async def _principal_of(request: Request, presented: str, challenges: list[str]) -> Principal:
    # The request's one session (app/db/session.py), asked for here rather than declared as a
    # dependency of the two above: FastAPI walks a declared dependency again wherever it is named,
    # even when its value is known, and these two run on every request.
    session = await request_session(request)
    principal = await _known(request.app.state, session, presented)
    if principal is None:
        await quotas.count_failure(request)
        raise _unauthorized("The API key is unknown or revoked.", challenges)
    note_caller(principal.partner_id, principal.key_id)  # for the request's log line: ids, never the key
    if principal.is_master:  # not rate limited
        audit.set_actor(session, audit.OPERATOR_MASTER_KEY)
        return principal
    # For the audit trail of a write: the key's ids and prefix only.
    audit.set_actor(
        session, audit.Actor("api_key", "api", principal.partner_id, principal.key_id, principal.key_prefix)
    )
    await quotas.spend(request, principal.key_id or "", principal.rate_limit)
    return principal


async def _known(state: Any, session: AsyncSession, presented: str) -> Principal | None:
    """The principal of a key presented, None when it is unknown or revoked."""
    master_key: str = state.master_key
    if hmac.compare_digest(presented.encode(), master_key.encode()):
        return Principal(partner_id=None, key_id=None, scopes=frozenset(Scope))
    digest = hash_key(presented)
    known: KeyCache[Principal] = state.principals
    principal = known.get(digest)
    if principal is None:
        lookup = parse_lookup(presented)
        found = await repo.get_by_lookup(session, lookup) if lookup else None
        if (
            found is None
            or found.key.revoked_at is not None
            or not hmac.compare_digest(found.key.key_hash, digest)
        ):
            return None
        row = found.key
        principal = Principal(
            partner_id=row.partner_id,
            key_id=row.id,
            scopes=frozenset(row.scopes.split()),
            key_prefix=f"{KEY_PREFIX}{row.lookup}",
            rate_limit=found.rate_limit,
        )
        known.put(digest, principal)
    return principal


async def bearer_principal(state: Any, authorization: str | None) -> Principal | None:
    """The principal of an `Authorization: Bearer` value before any route runs (app/idempotency.py
    keeps answers per partner); None without one, or with a key the route will refuse (its 401)."""
    scheme, _sep, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    async with state.read_sessionmaker() as session:  # no query at all when the key is cached
        return await _known(state, session, presented.strip())


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


@raises(MissingScope)
async def _audit_reader(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """A partner key with `audit:read` (its partner's trail), or the master key (everyone's)."""
    if not principal.is_master and Scope.AUDIT_READ not in principal.scopes:
        raise MissingScope(
            f"This route needs the scope '{Scope.AUDIT_READ}'.", required_scope=Scope.AUDIT_READ
        )
    return principal


@raises(MasterKeyRequired)
async def require_master(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_master:
        raise MasterKeyRequired("Partner administration needs the master key (PORTICO_MASTER_KEY).")
    return principal


AnyPrincipal = Annotated[Principal, Depends(current_principal)]
Master = Annotated[Principal, Depends(require_master)]
AuditReader = Annotated[Principal, Depends(_audit_reader)]
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


def uses_key(route: object) -> bool:
    """Whether a route authenticates with an API key (as Bearer, or on a page also as Basic)."""
    dependant = getattr(route, "dependant", None)
    return (dependant is not None and _uses(dependant, current_principal)) or is_page_route(route)


def _uses(dependant: Any, call: object) -> bool:
    return dependant.call is call or any(_uses(sub, call) for sub in dependant.dependencies)
