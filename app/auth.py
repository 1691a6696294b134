"""API keys, scopes and the current principal."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.db.session import SessionDep
from app.domain.errors import MasterKeyNotAllowed, MasterKeyRequired, MissingScope, Unauthorized

KEY_PREFIX = "ptc_"


class Scope(StrEnum):
    INSTANCES_READ = "instances:read"
    INSTANCES_WRITE = "instances:write"
    PORTALS_WRITE = "portals:write"
    SYNC_READ = "sync:read"
    SYNC_RUN = "sync:run"
    PATIENTS_READ = "patients:read"


# A new key gets these unless the caller lists scopes: everything but personal data.
DEFAULT_SCOPES = tuple(s for s in Scope if s is not Scope.PATIENTS_READ)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the operator (master key) or one partner's API key."""

    partner_id: str | None
    key_id: str | None
    scopes: frozenset[str]

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
    lookup = secrets.token_hex(8)
    plaintext = f"{KEY_PREFIX}{lookup}_{secrets.token_urlsafe(24)}"
    return NewKey(plaintext, lookup, hash_key(plaintext))


def hash_key(plaintext: str) -> str:
    # Keys carry ≥128 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def parse_lookup(plaintext: str) -> str | None:
    if not plaintext.startswith(KEY_PREFIX):
        return None
    lookup, sep, secret = plaintext[len(KEY_PREFIX) :].partition("_")
    if not sep or not secret or len(lookup) != 16:
        return None
    return lookup


_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API key>`")
_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="portico"'}


async def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    from app.db.repositories import api_keys as repo  # late import: repositories import table models

    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("Send an API key as `Authorization: Bearer <key>`.")
    presented = credentials.credentials
    master_key: str = request.app.state.master_key
    if hmac.compare_digest(presented.encode(), master_key.encode()):
        return Principal(partner_id=None, key_id=None, scopes=frozenset(Scope))
    lookup = parse_lookup(presented)
    row = await repo.get_by_lookup(session, lookup) if lookup else None
    if (
        row is None
        or row.revoked_at is not None
        or not hmac.compare_digest(row.key_hash, hash_key(presented))
    ):
        raise _unauthorized("The API key is unknown or revoked.")
    return Principal(partner_id=row.partner_id, key_id=row.id, scopes=frozenset(row.scopes.split()))


def _unauthorized(detail: str) -> Unauthorized:
    error = Unauthorized(detail)
    error.headers = _UNAUTHORIZED_HEADERS
    return error


def require(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: a partner key carrying `scope`. The master key is refused with a hint."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
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
