"""Portal manifests: the JSON Schema of the document, plan, apply, and export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.auth import InstancesRead, InstancesWrite, PortalsWrite
from app.db.session import SessionDep
from app.domain.conflicts import ConcurrentChange
from app.domain.errors import NotFound
from app.domain.manifest_problems import ManifestInvalid, ManifestStateChanged
from app.openapi_contract import raises
from app.routers.deps import PortalDep
from app.routers.lookups import LookupRoute
from app.schemas.manifest_plans import ManifestApplied, ManifestPlanPublic, applied_document, plan_document
from app.schemas.manifests import ManifestApply, PortalManifest
from app.services import manifest_export
from app.services import manifests as service
from app.services.gesdent import Safeguards
from app.state import SecretBoxDep, SettingsDep

router = APIRouter(tags=["manifests"], route_class=LookupRoute)
SCHEMA = PortalManifest.model_json_schema()

PLAN_PATH, APPLY_PATH = "/v1/portal-manifests/plan", "/v1/portal-manifests/apply"
# The routes that take a whole portal at once: bounded by PORTICO_MAX_MANIFEST_BYTES, not by
# PORTICO_MAX_BODY_BYTES (a chain of 200 clinics is a few megabytes).
WHOLE_PORTAL_PATHS = (PLAN_PATH, APPLY_PATH)


@router.get(
    "/v1/schemas/portal-manifest.json",
    operation_id="manifests_schema",
    response_model=dict[str, Any],
    responses={200: {"description": "The JSON Schema (draft 2020-12) of a portal manifest."}},
)
async def manifest_schema() -> dict[str, Any]:
    """The JSON Schema of a portal manifest, for editors and validators. Public: it holds no data."""
    return SCHEMA


@router.post(PLAN_PATH, operation_id="manifests_plan", response_model=ManifestPlanPublic)
async def plan_manifest(
    principal: InstancesRead,
    session: SessionDep,
    settings: SettingsDep,
    box: SecretBoxDep,
    body: PortalManifest,
) -> JSONResponse:
    """What applying the manifest would create, update and delete now; every invariant it would break,
    with the API's problem type for each; warnings; and the fingerprint to apply it with. Nothing is
    written. Needs `instances:read`."""
    guards = Safeguards(box, allow_private=settings.gesdent_allow_private_networks)
    plan = await service.plan(session, principal, body, guards)
    await session.rollback()  # a plan writes nothing, and says so to the database too
    return JSONResponse(plan_document(body.portal.name, plan))


@router.post(APPLY_PATH, operation_id="manifests_apply", response_model=ManifestApplied)
@raises(ManifestInvalid, ManifestStateChanged, ConcurrentChange)
async def apply_manifest(
    principal: PortalsWrite,
    _writer: InstancesWrite,
    session: SessionDep,
    settings: SettingsDep,
    box: SecretBoxDep,
    body: ManifestApply,
) -> JSONResponse:
    """Apply a manifest whose plan was reviewed, with that plan's `fingerprint`: in one transaction,
    through the same rules as the API's routes, all or nothing. A 412 when anything the manifest
    touches changed since the plan; a 422 listing every problem when it cannot be applied. Needs
    `instances:write` and `portals:write`."""
    guards = Safeguards(box, allow_private=settings.gesdent_allow_private_networks)
    done, fingerprint = await service.apply(session, principal, body, guards, settings.default_timezone)
    return JSONResponse(applied_document(plan_document(body.manifest.portal.name, done), fingerprint))


@router.get(
    "/v1/portals/{portal}/manifest",
    operation_id="manifests_export",
    response_model=None,
    responses={200: {"model": PortalManifest, "description": "The portal as a manifest"}},
)
@raises(NotFound)
async def export_manifest(portal: PortalDep, principal: InstancesRead, session: SessionDep) -> JSONResponse:
    """The portal and its members as a manifest: planned back, it shows no change. No password is in
    it: each credential keeps the stored one."""
    return JSONResponse(await manifest_export.export(session, principal, portal))
