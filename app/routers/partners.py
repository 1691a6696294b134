"""Partners and their API keys: the operator's routes (master key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from app.auth import AnyPrincipal, Master, forget_key, forget_partner
from app.db.session import SessionDep, SessionRoute
from app.domain.errors import MissingScope, NotFound
from app.openapi_contract import raises, sends
from app.pagination import Page, PageParams
from app.schemas.common import UUID_FORMAT, UUID_PATTERN
from app.schemas.partners import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    PartnerCreate,
    PartnerPublic,
    PartnerUpdate,
)
from app.services import partners as service

router = APIRouter(tags=["partners"], route_class=SessionRoute)
PartnerId = Annotated[str, Path(pattern=UUID_PATTERN, description="Partner id.", **UUID_FORMAT)]
KeyId = Annotated[str, Path(pattern=UUID_PATTERN, description="API key id.", **UUID_FORMAT)]


@router.get(
    "/v1/partners",
    operation_id="partners_list",
    response_model=Page[PartnerPublic],
)
async def list_partners(
    _: Master, session: SessionDep, page: PageParams, response: Response
) -> Page[PartnerPublic]:
    """The partners, one page at a time. Master key only."""
    partners, cursor = await service.list_page(session, page.request)
    return page.answer([PartnerPublic.model_validate(p) for p in partners], cursor, response)


@router.post(
    "/v1/partners",
    operation_id="partners_create",
    status_code=status.HTTP_201_CREATED,
    response_model=PartnerPublic,
)
@sends("Location")
async def create_partner(
    _: Master, session: SessionDep, body: PartnerCreate, response: Response
) -> PartnerPublic:
    """Create a partner (master key only). It owns the instances and API keys created for it;
    its first key comes from `POST /v1/partners/{partner_id}/api-keys`."""
    partner = await service.create(session, body.name)
    response.headers["Location"] = f"/v1/partners/{partner.id}"
    return PartnerPublic.model_validate(partner)


@router.get(
    "/v1/partners/{partner_id}",
    operation_id="partners_get",
    response_model=PartnerPublic,
)
@raises(NotFound)
async def get_partner(_: Master, session: SessionDep, partner_id: PartnerId) -> PartnerPublic:
    """One partner. Master key only."""
    return PartnerPublic.model_validate(await service.require(session, partner_id))


@router.patch(
    "/v1/partners/{partner_id}",
    operation_id="partners_update",
    response_model=PartnerPublic,
)
@raises(NotFound)
async def update_partner(
    _: Master, session: SessionDep, partner_id: PartnerId, body: PartnerUpdate, request: Request
) -> PartnerPublic:
    """Change a partner (master key only): its `rate_limit`, the requests each of its API keys may
    make per window (null: the deployment's default). Every replica applies it within about a second."""
    partner = await service.update(session, partner_id, body)
    forget_partner(request, partner_id)  # this process at once; the others within the cache's TTL
    return PartnerPublic.model_validate(partner)


@router.get(
    "/v1/partners/{partner_id}/api-keys",
    operation_id="api_keys_list",
    response_model=Page[ApiKeyPublic],
)
@raises(NotFound)
async def list_api_keys(
    _: Master, session: SessionDep, partner_id: PartnerId, page: PageParams, response: Response
) -> Page[ApiKeyPublic]:
    """The partner's API keys, revoked ones included, without the keys themselves: only their
    `prefix`. Master key only."""
    keys, cursor = await service.list_keys_page(session, partner_id, page.request)
    return page.answer([service.key_public(key) for key in keys], cursor, response)


@router.post(
    "/v1/partners/{partner_id}/api-keys",
    operation_id="api_keys_create",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
)
@raises(NotFound)
@sends("Location")
async def create_api_key(
    _: Master, session: SessionDep, partner_id: PartnerId, body: ApiKeyCreate, response: Response
) -> ApiKeyCreated:
    """Issue an API key for the partner (master key only), with the default scopes unless
    `scopes` lists them. The key is in the answer once and never again (`Cache-Control: no-store`)."""
    row, plaintext = await service.create_key(session, partner_id, body)
    response.headers["Location"] = f"/v1/partners/{partner_id}/api-keys"
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyCreated(**service.key_public(row).model_dump(), key=plaintext)


@router.delete(
    "/v1/api-keys/{key_id}",
    operation_id="api_keys_revoke",
    response_model=ApiKeyPublic,
)
@raises(NotFound, MissingScope)
async def revoke_api_key(
    principal: AnyPrincipal, session: SessionDep, key_id: KeyId, request: Request
) -> ApiKeyPublic:
    """Revoke a key. The master key revokes any key. A partner key may always revoke itself; with
    the scope `keys:write` it may also revoke the other keys of its own partner (otherwise 403
    `missing-scope`). Another partner's key is 404, as if it did not exist."""
    revoked = await service.revoke_key(session, principal, key_id)
    forget_key(request, revoked.id)
    return service.key_public(revoked)
