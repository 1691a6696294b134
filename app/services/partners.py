"""Partners and API keys."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import DEFAULT_SCOPES, Principal, Scope
from app.db.models import ApiKey, Partner, utcnow
from app.db.repositories import api_keys as keys_repo
from app.db.repositories import partners as repo
from app.db.repositories.pages import PageRequest
from app.domain.api_keys import KEY_PREFIX, generate_key
from app.domain.errors import MissingScope, NotFound
from app.schemas.partners import ApiKeyCreate, ApiKeyPublic, PartnerUpdate


async def create(session: AsyncSession, name: str) -> Partner:
    partner = Partner(name=name)
    session.add(partner)
    await session.flush()
    return partner


async def require(session: AsyncSession, partner_id: str) -> Partner:
    partner = await repo.get(session, partner_id)
    if partner is None:
        raise NotFound(f"Partner {partner_id} not found.")
    return partner


async def update(session: AsyncSession, partner_id: str, data: PartnerUpdate) -> Partner:
    """Change what `data` sets (a field left out stays as it is)."""
    partner = await require(session, partner_id)
    if "rate_limit" in data.model_fields_set:
        partner.rate_limit = data.rate_limit
    await session.flush()
    return partner


async def list_page(session: AsyncSession, page: PageRequest) -> tuple[list[Partner], str | None]:
    return await repo.list_page(session, page)


async def list_keys_page(
    session: AsyncSession, partner_id: str, page: PageRequest
) -> tuple[list[ApiKey], str | None]:
    await require(session, partner_id)
    return await keys_repo.list_page(session, partner_id, page)


async def create_key(session: AsyncSession, partner_id: str, data: ApiKeyCreate) -> tuple[ApiKey, str]:
    await require(session, partner_id)
    scopes = sorted(set(data.scopes or DEFAULT_SCOPES))
    new = generate_key()
    row = ApiKey(
        partner_id=partner_id,
        name=data.name,
        lookup=new.lookup,
        key_hash=new.key_hash,
        scopes=" ".join(scopes),
    )
    session.add(row)
    await session.flush()
    return row, new.plaintext


async def revoke_key(session: AsyncSession, principal: Principal, key_id: str) -> ApiKey:
    """The master key revokes any key; a partner key revokes itself, or with `keys:write` its
    partner's other keys. Another partner's key is 404, as everywhere."""
    row = await keys_repo.get(session, key_id)
    if row is None or (not principal.is_master and row.partner_id != principal.partner_id):
        raise NotFound(f"API key {key_id} not found.")
    itself = row.id == principal.key_id
    if not (principal.is_master or itself or Scope.KEYS_WRITE in principal.scopes):
        raise MissingScope(
            f"Revoking another key of your partner needs the scope '{Scope.KEYS_WRITE}' "
            "(a key may always revoke itself).",
            required_scope=str(Scope.KEYS_WRITE),
        )
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
    return row


def key_public(row: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(
        {
            "id": row.id,
            "partner_id": row.partner_id,
            "name": row.name,
            "scopes": [Scope(s) for s in row.scopes.split()],
            "prefix": f"{KEY_PREFIX}{row.lookup}",
            "created_at": row.created_at,
            "revoked_at": row.revoked_at,
        }
    )
