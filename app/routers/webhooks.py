"""The signed GESDENT change notification (Standard Webhooks)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request, Response, status
from pydantic import BaseModel, Field, ValidationError

from app.db.session import SessionDep, SessionRoute
from app.domain.conflicts import GesdentNotConfigured
from app.domain.errors import InvalidSignature, ValidationFailed
from app.domain.gesdent import NotifiedStream
from app.openapi_contract import raises
from app.problems import describe_errors
from app.schemas.common import InstanceName, Output
from app.schemas.sync_runs import SyncRunPublic
from app.services import webhooks as service
from app.state import SecretBoxDep, SettingsDep

router = APIRouter(tags=["sync"], route_class=SessionRoute)


class ChangeNotification(BaseModel):
    """GESDENT's word that an instance's data changed: which database, and which streams to import."""

    type: Literal["data.changed"]
    db_name: InstanceName = Field(examples=["tt_clinic_north"])
    streams: list[NotifiedStream] | None = Field(
        None,
        examples=[["reservations", "availability"]],
        description="The streams to import (`patients` is `users`); all of them when left out.",
    )


class WebhookAnswer(Output):
    """What became of a change notification: a run queued, a run already waiting, or a replay ignored."""

    status: Literal["queued", "already_active", "duplicate"] = Field(
        examples=["queued"],
        description="`queued`: a new run (202); `already_active`: the instance's run already queued or "
        "running (200); `duplicate`: a `webhook-id` seen before, nothing done (200).",
    )
    run: SyncRunPublic | None = Field(
        None, description="The run, new or already active; null for a duplicate."
    )


@router.post(
    "/v1/webhooks/gesdent",
    operation_id="webhooks_gesdent",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookAnswer,
    responses={
        200: {"model": WebhookAnswer, "description": "Replay or run already active"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ChangeNotification.model_json_schema()}},
        }
    },
)
@raises(InvalidSignature, GesdentNotConfigured)
async def gesdent_webhook(
    request: Request,
    session: SessionDep,
    box: SecretBoxDep,
    settings: SettingsDep,
    response: Response,
    webhook_id: Annotated[str, Header(alias="webhook-id", max_length=200)],
    webhook_timestamp: Annotated[str, Header(alias="webhook-timestamp", max_length=20)],
    webhook_signature: Annotated[str, Header(alias="webhook-signature", max_length=2000)],
) -> WebhookAnswer:
    """GESDENT's change notification, signed per Standard Webhooks with the instance's webhook
    secret. No API key: the signature authenticates. A replayed `webhook-id` is acknowledged and ignored."""
    raw = await request.body()  # the signature covers the exact bytes sent
    try:
        notification = ChangeNotification.model_validate_json(raw)
    except ValidationError as exc:
        detail, errors = describe_errors(exc.errors(), prefix=("body",))
        raise ValidationFailed(
            f'The notification is not {{"type": "data.changed", "db_name", "streams"}}: {detail}', errors
        ) from None
    signed = service.SignedNotification(
        db_name=notification.db_name,
        streams=notification.streams,
        webhook_id=webhook_id,
        timestamp=webhook_timestamp,
        signatures=webhook_signature,
        body=raw,
    )
    delivery = await service.receive(session, box, signed, settings.gesdent_base_url)
    if delivery.run is None:
        response.status_code = status.HTTP_200_OK
        return WebhookAnswer(status="duplicate")
    response.status_code = status.HTTP_202_ACCEPTED if delivery.created else status.HTTP_200_OK
    run = SyncRunPublic.build(delivery.run, delivery.instance)
    return WebhookAnswer(status="queued" if delivery.created else "already_active", run=run)
