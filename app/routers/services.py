"""An instance's services, and their CSV import and export."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from app.auth import InstancesRead, InstancesWrite
from app.db.session import SessionDep
from app.pagination import Page, PageParams
from app.problems import responses
from app.routers.common import Cascade, IfMatch, NamePath, SearchText, ServiceCodePath
from app.routers.csv import CSV_BODY, RECEIVED_FIRST, CsvResponse, csv_ok, read_csv
from app.schemas.services import (
    ImportCodes,
    ImportReport,
    ServiceCreate,
    ServiceDeleted,
    ServicePublic,
    ServiceUpdate,
)
from app.services import services as service
from app.services import services_csv
from app.state import SettingsDep

router = APIRouter(tags=["services"])


@router.get(
    "/v1/instances/{name}/services",
    operation_id="services_list",
    response_model=Page[ServicePublic],
    responses=responses(401, 403, 404, 422),
)
async def list_services(
    principal: InstancesRead,
    session: SessionDep,
    name: NamePath,
    page: PageParams,
    response: Response,
    q: SearchText = None,
    web_enabled: Annotated[bool | None, Query(description="Only services bookable online, or not.")] = None,
    mapped: Annotated[
        bool | None, Query(description="Only services that are (or are not) part of a mapping.")
    ] = None,
) -> Page[ServicePublic]:
    rows, cursor = await service.list_page(session, principal, name, page.request, q, web_enabled, mapped)
    return page.answer([ServicePublic.build(r.service, r.mapped_to) for r in rows], cursor, response)


@router.post(
    "/v1/instances/{name}/services",
    operation_id="services_create",
    status_code=status.HTTP_201_CREATED,
    response_model=ServicePublic,
    responses=responses(401, 403, 404, 409, 422),
)
async def create_service(
    principal: InstancesWrite, session: SessionDep, name: NamePath, body: ServiceCreate, response: Response
) -> ServicePublic:
    created = await service.create(session, principal, name, body)
    response.headers["Location"] = f"/v1/instances/{name}/services/{created.code}"
    response.headers["ETag"] = service.etag(created)
    return ServicePublic.build(created, None)


@router.get(
    "/v1/instances/{name}/services/export",
    operation_id="services_export",
    response_class=CsvResponse,
    responses={
        200: csv_ok("The services as CSV (the columns import reads)."),
        **responses(401, 403, 404, 422),
    },
)
async def export_services(principal: InstancesRead, session: SessionDep, name: NamePath) -> CsvResponse:
    """Every service as CSV: `code,name,duration_minutes,price,web_enabled`. Importing it changes nothing.

    A cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
    carriage return) is written with a leading `'`, and so is a cell that starts with `'` or that
    starts or ends with whitespace; the import removes exactly that one quote and keeps that
    whitespace, so export then import is exact."""
    text = await services_csv.export_csv(session, principal, name)
    return CsvResponse(text, headers={"Content-Disposition": f'attachment; filename="{name}-services.csv"'})


@router.post(
    "/v1/instances/{name}/services/import",
    operation_id="services_import",
    response_model=ImportReport,
    responses=responses(401, 403, 404, 409, 413, 415, 422),
    openapi_extra=CSV_BODY,
    dependencies=[RECEIVED_FIRST],
)
async def import_services(
    principal: InstancesWrite,
    session: SessionDep,
    settings: SettingsDep,
    name: NamePath,
    request: Request,
    mode: Annotated[
        Literal["upsert", "replace"],
        Query(description="`replace` also deletes services absent from the file."),
    ] = "upsert",
    dry_run: Annotated[bool, Query(description="Validate and report; write nothing.")] = False,
    cascade: Cascade = False,
) -> ImportReport:
    """Import services from CSV (`text/csv` body, or a multipart `file`).

    UTF-8 with or without BOM, `,` or `;` separated, CRLF or LF. Every row is checked; one bad row
    means a 422 listing them all, and nothing written. At most `PORTICO_MAX_CSV_ROWS` rows (default
    10,000) and `PORTICO_MAX_BODY_BYTES` bytes: a larger file is a 413 (`csv-too-many-rows`,
    `payload-too-large`), nothing written. The whitespace around a cell is dropped. A cell starting
    with `'` followed by `=`, `+`, `-`, `@`, a tab, a carriage return, another `'` or whitespace, or
    ending with whitespace, loses that first `'` and keeps its whitespace (the export's escape)."""
    data = await read_csv(request)
    outcome = await services_csv.import_csv(
        session,
        principal,
        name,
        data,
        replace=mode == "replace",
        dry_run=dry_run,
        cascade=cascade,
        max_rows=settings.max_csv_rows,
    )
    return ImportReport(
        dry_run=dry_run,
        mode=mode,
        created=len(outcome.created),
        updated=len(outcome.updated),
        unchanged=len(outcome.unchanged),
        deleted=len(outcome.deleted),
        removed_mappings=outcome.removed_mappings,
        errors=[],
        codes=ImportCodes(
            created=outcome.created,
            updated=outcome.updated,
            unchanged=outcome.unchanged,
            deleted=outcome.deleted,
        ),
    )


@router.get(
    "/v1/instances/{name}/services/{code}",
    operation_id="services_get",
    response_model=ServicePublic,
    responses=responses(401, 403, 404, 422),
)
async def get_service(
    principal: InstancesRead, session: SessionDep, name: NamePath, code: ServiceCodePath, response: Response
) -> ServicePublic:
    found, mapped_to = await service.require_service(session, principal, name, code)
    response.headers["ETag"] = service.etag(found)
    return ServicePublic.build(found, mapped_to)


@router.patch(
    "/v1/instances/{name}/services/{code}",
    operation_id="services_update",
    response_model=ServicePublic,
    responses=responses(401, 403, 404, 412, 422),
)
async def update_service(
    principal: InstancesWrite,
    session: SessionDep,
    name: NamePath,
    code: ServiceCodePath,
    body: ServiceUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> ServicePublic:
    """Change a service; `{"web_enabled": true}` makes it bookable online (the Web column)."""
    updated, mapped_to = await service.update(session, principal, name, code, body, if_match)
    response.headers["ETag"] = service.etag(updated)
    return ServicePublic.build(updated, mapped_to)


@router.delete(
    "/v1/instances/{name}/services/{code}",
    operation_id="services_delete",
    response_model=ServiceDeleted,
    responses=responses(401, 403, 404, 409, 412, 422),
)
async def delete_service(
    principal: InstancesWrite,
    session: SessionDep,
    name: NamePath,
    code: ServiceCodePath,
    cascade: Cascade = False,
    if_match: IfMatch = None,
) -> ServiceDeleted:
    """Delete a service. When mappings use it, needs `cascade=true`, which removes them (invariant 6)."""
    removed = await service.delete(session, principal, name, code, cascade, if_match)
    return ServiceDeleted(code=code, removed_mappings=removed)
