"""The audit trail's events, as the API shows them."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.db.models import AuditEvent
from app.schemas.common import Output, Timestamp, Uuid

EXAMPLE_PREFIX = "ptc_4d8c2506f377d6c1"


class AuditActor(BaseModel):
    """Who made the change: an API key (its partner, id and first characters; never the key), or the
    operator, with the master key or the `portico` command."""

    type: Literal["api_key", "operator", "unknown"] = Field(examples=["api_key"])
    via: Literal["api", "master_key", "cli"] = Field(examples=["api"])
    partner_id: Uuid | None = Field(
        examples=["0196f4d2-6a10-7c3e-8b51-4f2a9d0e6c21"],
        description="The key's partner; null for the operator.",
    )
    key_id: Uuid | None = Field(
        examples=["0196f4d2-6b3a-7d40-9e12-7a5c3b1f8d02"], description="The key's id; null for the operator."
    )
    key_prefix: str | None = Field(examples=[EXAMPLE_PREFIX], description="The key's first characters.")


class AuditTarget(BaseModel):
    """What changed: its kind, id and name (an instance's name, a service's or a mapped member
    service's code, a setting's key, an endpoint's URL), and the instance it belongs to."""

    kind: Literal[
        "partner",
        "api_key",
        "instance",
        "setting",
        "membership",
        "service",
        "mapping",
        "gesdent",
        "webhook_endpoint",
    ] = Field(examples=["mapping"])
    id: str = Field(examples=["0196f4d2-7c1e-7b21-9f3a-0d5c2b8e4a11"])
    name: str = Field(examples=["LIMP"])
    instance: str | None = Field(examples=["tt_clinic_north"])


class FieldChange(BaseModel):
    """One field's value before and after the write."""

    before: Any = Field(
        examples=["CLEAN"], description="Null when created (or unset); secrets show `[redacted]`."
    )
    after: Any = Field(
        examples=["HYG"], description="Null when deleted (or unset); secrets show `[redacted]`."
    )


class AuditEventPublic(Output):
    """One target changed by one write."""

    id: Uuid
    occurred_at: Timestamp
    partner_id: Uuid = Field(description="The partner whose configuration changed.")
    actor: AuditActor
    request_id: str = Field(examples=["5f0c9a4e2b7d4c1e8a3f6b2d9e0c7a15"], description="Its `X-Request-ID`.")
    operation: str = Field(
        examples=["mappings_put"],
        description="The route's operationId, `manifest.apply`, or the `portico` command (`cli.<name>`).",
    )
    idempotency_key: str | None = Field(examples=[None], description="The request's `Idempotency-Key`.")
    action: Literal["create", "update", "delete"] = Field(examples=["update"])
    target: AuditTarget
    changes: dict[str, FieldChange] = Field(
        examples=[{"portal_service": {"before": "CLEAN", "after": "HYG"}}],
        description="Each field that changed; a creation lists what was set, a deletion what was there.",
    )

    @classmethod
    def build(cls, event: AuditEvent) -> AuditEventPublic:
        return cls(
            id=event.id,
            occurred_at=event.occurred_at,
            partner_id=event.partner_id,
            actor=AuditActor(
                type=event.actor_type,
                via=event.actor_via,
                partner_id=event.actor_partner_id,
                key_id=event.actor_key_id,
                key_prefix=event.actor_key_prefix,
            ),
            request_id=event.request_id,
            operation=event.operation,
            idempotency_key=event.idempotency_key,
            action=event.action,
            target=AuditTarget(
                kind=event.target_kind,
                id=event.target_id,
                name=event.target_name,
                instance=event.instance_name,
            ),
            changes={name: FieldChange(**change) for name, change in json.loads(event.changes).items()},
        )
