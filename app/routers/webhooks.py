"""Triggers from outside: the signed GESDENT webhook and the legacy importer URL."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status
from pydantic import BaseModel, Field, ValidationError

from app.auth import SyncRunner
from app.db.session import SessionDep
from app.domain.errors import ValidationFailed
from app.domain.values import INSTANCE_NAME_PATTERN
from app.problems import responses
from app.routers.sync import ACCEPTED, answer_trigger
from app.schemas.sync import SyncRunPublic
from app.services import sync_runs
from app.services import webhooks as service

router = APIRouter(tags=["sync"])


class ChangeNotification(BaseModel):
    type: Literal["data.changed"]
    db_name: Annotated[str, Field(pattern=INSTANCE_NAME_PATTERN)]
    streams: list[Literal["resources", "users", "patients", "reservations", "availability"]] | None = None


class WebhookAnswer(BaseModel):
    status: Literal["queued", "already_active", "duplicate"]
    run: SyncRunPublic | None = None


WebhookHeader = Annotated[str, Header(max_length=1000)]


@router.post(
    "/v1/webhooks/gesdent",
    operation_id="webhooks_gesdent",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookAnswer,
    responses={
        200: {"model": WebhookAnswer, "description": "Replay or run already active"},
        **responses(401, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ChangeNotification.model_json_schema()}},
        }
    },
)
async def gesdent_webhook(
    request: Request,
    session: SessionDep,
    response: Response,
    webhook_id: Annotated[str, Header(alias="webhook-id", max_length=200)],
    webhook_timestamp: Annotated[str, Header(alias="webhook-timestamp", max_length=20)],
    webhook_signature: Annotated[str, Header(alias="webhook-signature", max_length=2000)],
) -> WebhookAnswer:
    """GESDENT's change notification, signed per Standard Webhooks with the instance's webhook
    secret. No API key: the signature authenticates. A replayed `webhook-id` is acknowledged and ignored."""
    raw = await request.body()  # the signature covers the exact bytes sent
    try:
        notification = ChangeNotification.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise ValidationFailed(
            'The notification is not {"type": "data.changed", "db_name", "streams"}.',
            errors=[{"field": "body", "message": str(exc).splitlines()[0]}],
        ) from None
    delivery = await service.receive(
        session,
        request.app.state.secret_box,
        db_name=notification.db_name,
        streams=notification.streams,
        webhook_id=webhook_id,
        timestamp=webhook_timestamp,
        signatures=webhook_signature,
        body=raw,
    )
    if delivery.run is None:
        response.status_code = status.HTTP_200_OK
        return WebhookAnswer(status="duplicate")
    response.status_code = status.HTTP_202_ACCEPTED if delivery.created else status.HTTP_200_OK
    run = SyncRunPublic.build(delivery.run, delivery.instance)
    return WebhookAnswer(status="queued" if delivery.created else "already_active", run=run)


@router.get(
    "/cron_importer_gesdent.php",
    operation_id="sync_legacy_trigger",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SyncRunPublic,
    responses={**ACCEPTED, **responses(401, 403, 404, 409, 422)},
)
async def legacy_trigger(
    principal: SyncRunner,
    session: SessionDep,
    response: Response,
    db_name: Annotated[str, Query(alias="dbName", pattern=INSTANCE_NAME_PATTERN, description="tt_<centre>")],
) -> SyncRunPublic:
    """The old importer's URL, so bookmarks and cron lines keep working: a manual run of that
    database. Needs an API key with `sync:run`, e.g. `curl -H 'Authorization: Bearer …' …`."""
    run, created = await sync_runs.trigger(session, principal, db_name, "manual", False)
    return answer_trigger(run, db_name, created, response)
