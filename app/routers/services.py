"""An instance's services, and their CSV import and export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.db.repositories.services import ServiceFilter
from app.db.session import SessionDep
from app.domain.conflicts import ServiceCodeTaken, ServiceMapped
from app.domain.errors import CsvTooManyRows, InvalidCsv, UnsupportedMediaType
from app.openapi_contract import raises, sends
from app.pagination import Page, PageParams
from app.routers.common import Cascade, IfMatch, SearchText
from app.routers.csv import CSV_BODY, RECEIVED_FIRST, CsvResponse, csv_ok, read_csv
from app.routers.deps import ImportTarget, InstanceDep, InstanceToWrite, ServiceDep, ServiceToWrite
from app.routers.lookups import LookupRoute
from app.schemas.services import (
    ImportCodes,
    ImportMode,
    ImportReport,
    ServiceCreate,
    ServiceDeleted,
    ServicePublic,
    ServiceUpdate,
)
from app.services import services as service
from app.services import services_csv
from app.state import SettingsDep

router = APIRouter(tags=["services"], route_class=LookupRoute)


@router.get(
    "/v1/instances/{name}/services",
    operation_id="services_list",
    response_model=Page[ServicePublic],
)
async def list_services(
    instance: InstanceDep,
    session: SessionDep,
    page: PageParams,
    response: Response,
    q: SearchText = None,
    web_enabled: Annotated[bool | None, Query(description="Only services bookable online, or not.")] = None,
    mapped: Annotated[
        bool | None, Query(description="Only services that are (or are not) part of a mapping.")
    ] = None,
) -> Page[ServicePublic]:
    """The instance's services, one page at a time; search code and name with `q`, filter by
    `web_enabled` and by whether a mapping uses them (`mapped`)."""
    where = ServiceFilter(q, web_enabled, mapped)
    rows, cursor = await service.list_page(session, instance, page.request, where)
    return page.answer([ServicePublic.build(r.service, r.mapped_to) for r in rows], cursor, response)


@router.post(
    "/v1/instances/{name}/services",
    operation_id="services_create",
    status_code=status.HTTP_201_CREATED,
    response_model=ServicePublic,
)
@raises(ServiceCodeTaken)
@sends("Location", "ETag")
async def create_service(
    instance: InstanceToWrite, session: SessionDep, body: ServiceCreate, response: Response
) -> ServicePublic:
    """Add a service to the instance. 409 when its code is taken."""
    created = await service.create(session, instance, body)
    response.headers["Location"] = f"/v1/instances/{instance.name}/services/{created.code}"
    response.headers["ETag"] = service.etag(created)
    return ServicePublic.build(created, None)


@router.get(
    "/v1/instances/{name}/services/export",
    operation_id="services_export",
    response_class=CsvResponse,
    responses={
        200: csv_ok("The services as CSV (the columns import reads)."),
    },
)
async def export_services(instance: InstanceDep, session: SessionDep) -> CsvResponse:
    """Every service as CSV: `code,name,duration_minutes,price,web_enabled`. Importing it changes nothing.

    A cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
    carriage return) is written with a leading `'`, and so is a cell that starts with `'` or that
    starts or ends with whitespace; the import removes exactly that one quote and keeps that
    whitespace, so export then import is exact."""
    text = await services_csv.export_csv(session, instance)
    disposition = f'attachment; filename="{instance.name}-services.csv"'
    return CsvResponse(text, headers={"Content-Disposition": disposition})


@router.post(
    "/v1/instances/{name}/services/import",
    operation_id="services_import",
    response_model=ImportReport,
    openapi_extra=CSV_BODY,
    dependencies=[RECEIVED_FIRST],
)
@raises(InvalidCsv, CsvTooManyRows, ServiceMapped, UnsupportedMediaType)
async def import_services(
    target: ImportTarget,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    mode: Annotated[
        ImportMode,
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
    options = services_csv.ImportOptions(
        replace=mode == "replace", dry_run=dry_run, cascade=cascade, max_rows=settings.max_csv_rows
    )
    outcome = await services_csv.import_csv(session, await target(), data, options)
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
)
@sends("ETag")
async def get_service(found: ServiceDep, response: Response) -> ServicePublic:
    """One service, with the portal service it maps to when the instance is a member."""
    response.headers["ETag"] = service.etag(found.service)
    return ServicePublic.build(found.service, found.mapped_to)


@router.patch(
    "/v1/instances/{name}/services/{code}",
    operation_id="services_update",
    response_model=ServicePublic,
)
@sends("ETag")
async def update_service(
    found: ServiceToWrite,
    session: SessionDep,
    body: ServiceUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> ServicePublic:
    """Change a service; `{"web_enabled": true}` makes it bookable online (the Web column)."""
    updated = await service.update(session, found, body, if_match)
    response.headers["ETag"] = service.etag(updated)
    return ServicePublic.build(updated, found.mapped_to)


@router.delete(
    "/v1/instances/{name}/services/{code}",
    operation_id="services_delete",
    response_model=ServiceDeleted,
)
@raises(ServiceMapped)
async def delete_service(
    found: ServiceToWrite,
    session: SessionDep,
    cascade: Cascade = False,
    if_match: IfMatch = None,
) -> ServiceDeleted:
    """Delete a service. When mappings use it, needs `cascade=true`, which removes them (invariant 6)."""
    code = found.service.code  # before the delete expires the row
    removed = await service.delete(session, found, cascade=cascade, if_match=if_match)
    return ServiceDeleted(code=code, removed_mappings=removed)
