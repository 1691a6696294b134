"""The audit trail: who changed what, when, through which request (app/audit)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BeforeValidator

from app.auth import AuditReader
from app.db.repositories.audit import AuditFilter
from app.db.session import SessionDep, SessionRoute
from app.negotiation import JSON, negotiate
from app.pagination import Page, PageParams
from app.schemas.audit import AuditEventPublic
from app.schemas.common import UUID_PATTERN
from app.services import audit as service
from app.state import SessionmakerDep

router = APIRouter(tags=["audit"], route_class=SessionRoute)
NDJSON = "application/x-ndjson"
Text = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]*$")]
Id = Annotated[str | None, Query(pattern=UUID_PATTERN)]
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: object) -> object:
    # Lax parsing would read `0.5` as a moment of 1970; a moment is written as RFC 3339 says.
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("a moment is written as RFC 3339 says, with its offset: 2026-12-01T09:30:00Z")
    return value


Moment = Annotated[AwareDatetime | None, BeforeValidator(_rfc3339), Query()]


@router.get(
    "/v1/audit-events",
    operation_id="audit_events_list",
    response_model=Page[AuditEventPublic],
    responses={
        200: {
            "description": "A page of events (JSON), or with `Accept: application/x-ndjson` (or "
            "`format=ndjson`) every matching event, one JSON object per line, streamed.",
            "content": {NDJSON: {"schema": {"type": "string"}}},
        }
    },
)
async def list_audit_events(
    principal: AuditReader,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    request: Request,
    page: PageParams,
    response: Response,
    instance: Annotated[Text, Query(description="Only the changes of this instance (its name).")] = None,
    actor: Annotated[Id, Query(description="Only the changes made with this API key (its id).")] = None,
    operation: Annotated[Text, Query(description="Only this operation, e.g. `mappings_put`.")] = None,
    kind: Annotated[Text, Query(description="Only targets of this kind, e.g. `mapping`.")] = None,
    target: Annotated[Text, Query(description="Only targets of this name, e.g. a service code.")] = None,
    since: Annotated[Moment, Query(description="Only changes at or after this moment (RFC 3339).")] = None,
    until: Annotated[Moment, Query(description="Only changes before this moment (RFC 3339).")] = None,
    partner_id: Annotated[Id, Query(description="Master key only: one partner's changes.")] = None,
    format: Annotated[
        Literal["json", "ndjson"] | None, Query(description="`ndjson`: as Accept does.")
    ] = None,
) -> Page[AuditEventPublic] | Response:
    """The audit trail, oldest first: one event per target a write changed (an instance, a setting, a
    service, a membership, a mapping, the GESDENT rules, a webhook endpoint, an API key, a partner),
    with who made it, the request, the operation, the fields before and after (secrets redacted) and
    the `Idempotency-Key`. A partner key reads its partner's events; the master key reads everyone's
    (`partner_id` narrows it)."""
    where = AuditFilter(
        partner_id=partner_id if principal.is_master else None,
        instance=instance,
        actor_key_id=actor,
        operation=operation,
        target_kind=kind,
        target=target,
        since=since,
        until=until,
    )
    if format == "ndjson" or (
        format is None and negotiate(request.headers.get("accept"), (JSON, NDJSON)) == NDJSON
    ):
        return StreamingResponse(_lines(service.export(sessionmaker, principal, where)), media_type=NDJSON)
    events, cursor = await service.list_page(session, principal, where, page.request)
    return page.answer([AuditEventPublic.build(event) for event in events], cursor, response)


async def _lines(events: AsyncIterator[object]) -> AsyncIterator[bytes]:
    async for event in events:
        public = AuditEventPublic.build(event)  # type: ignore[arg-type]
        yield json.dumps(public.model_dump(mode="json"), separators=(",", ":")).encode() + b"\n"
