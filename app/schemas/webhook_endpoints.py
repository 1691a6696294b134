"""Webhook endpoints, their deliveries, and the answers that show a signing secret once."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool

from app.db.models import EventDelivery, WebhookEndpoint
from app.domain.events import EventType
from app.domain.gesdent_patterns import BASE_URL_PATTERN
from app.schemas.common import Declared, Input, Output, PlainText, SingleLine, Timestamp, Uuid

EXAMPLE_URL = "https://hooks.example.com/portico"
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EventTypes = list[EventType]
Description = PlainText
# The form of a GESDENT base URL: http(s), a host, no credentials, query or fragment.
EndpointUrl = Annotated[SingleLine, Field(min_length=1, max_length=500), Declared(BASE_URL_PATTERN)]


class WebhookEndpointCreate(Input):
    """A new endpoint: where to POST the partner's events, and which types."""

    url: EndpointUrl = Field(
        examples=[EXAMPLE_URL],
        description="An http(s) URL without credentials, query or fragment, on a public address "
        "(unless PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS is on).",
    )
    event_types: EventTypes = Field(min_length=1, examples=[["sync.run.failed", "portal.readiness.changed"]])
    description: Description = Field("", max_length=200, examples=["alerts of the operations team"])


class WebhookEndpointPatch(Input):
    """The fields to change; those left out stay as they are. `enabled: true` clears the reason an
    endpoint was disabled for."""

    url: EndpointUrl | None = Field(None, examples=[EXAMPLE_URL])
    event_types: EventTypes | None = Field(None, min_length=1, examples=[["sync.run.failed"]])
    description: Description | None = Field(None, max_length=200, examples=["alerts of the operations team"])
    enabled: StrictBool | None = Field(None, examples=[False])


class WebhookEndpointPublic(Output):
    """An endpoint that receives the partner's events. Its signing secret is never shown here."""

    id: Uuid
    url: str = Field(examples=[EXAMPLE_URL])
    description: str = Field(examples=["alerts of the operations team"])
    event_types: EventTypes = Field(examples=[["sync.run.failed", "portal.readiness.changed"]])
    enabled: bool = Field(examples=[True])
    disabled_reason: str | None = Field(
        examples=["answered 410 Gone at 2026-12-01T02:22:04Z"],
        description="Why the endpoint was disabled (by a 410 Gone, by failing a whole retry schedule, or "
        "by hand); null while enabled.",
    )
    disabled_at: Timestamp | None = Field(
        examples=[None], description="When it was disabled; null while enabled."
    )
    previous_secret_expires_at: Timestamp | None = Field(
        examples=[None],
        description="After a rotation, until when the previous secret still signs beside the new one.",
    )
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def build(cls, endpoint: WebhookEndpoint) -> WebhookEndpointPublic:
        return cls.model_validate(
            {
                **endpoint.model_dump(exclude={"event_types", "secret", "previous_secret"}),
                "event_types": endpoint.event_types.split(),
            }
        )


class WebhookEndpointWithSecret(WebhookEndpointPublic):
    """An endpoint just created, or whose secret was just rotated, with its signing secret: the only
    answer that shows it."""

    secret: str = Field(
        examples=[EXAMPLE_SECRET],
        description="The Standard Webhooks signing secret (`whsec_` and base64). Shown once: store it now.",
    )


class EventDeliveryPublic(Output):
    """One event on its way to an endpoint, or delivered, or given up."""

    id: Uuid
    event_id: Uuid = Field(description="The event's id, sent as `webhook-id`.")
    event_type: EventType
    status: Literal["pending", "delivered", "failed"] = Field(
        description="`pending`: due at `next_attempt_at` or being sent; `delivered`; `failed`: given up."
    )
    attempts: int = Field(examples=[1])
    next_attempt_at: Timestamp | None = Field(
        examples=[None], description="When it is due; null once it is done."
    )
    last_attempt_at: Timestamp | None = Field(examples=["2026-12-01T02:22:04.134805Z"])
    last_status_code: int | None = Field(examples=[200], description="The last answer's status; null: none.")
    last_error: str | None = Field(examples=[None])
    created_at: Timestamp
    delivered_at: Timestamp | None = Field(examples=["2026-12-01T02:22:04.134805Z"])

    @classmethod
    def build(cls, delivery: EventDelivery, event_type: str) -> EventDeliveryPublic:
        fields = delivery.model_dump(
            exclude={"lease_owner", "lease_expires_at", "endpoint_id", "instance_id"}
        )
        if delivery.status != "pending":
            fields["next_attempt_at"] = None
        return cls.model_validate({**fields, "event_type": event_type})
