"""What the audit trail shows of each audited table model: its kind, which fields it reports, which
of them are secrets (shown as "[redacted]"), and the ids it needs turned into names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import SQLModel

from app.db.models import (
    ApiKey,
    GesdentConnection,
    Instance,
    InstanceSetting,
    Mapping,
    Membership,
    Partner,
    Service,
    WebhookEndpoint,
    table_of,
)

REDACTED = "[redacted]"


@dataclass(frozen=True)
class Kind:
    """How one table model appears in the trail. `fields` are reported as they are; `secrets` as
    "[redacted]" (whether they changed is still told); `instance` is the column holding the id of
    the instance the row belongs to, `partner` the one holding its partner's id (else the instance's)."""

    name: str
    fields: tuple[str, ...]
    secrets: tuple[str, ...] = ()
    instance: str | None = None
    partner: str | None = None
    # Columns holding a service id, shown as the service's code under another name.
    service_codes: dict[str, str] = field(default_factory=dict)
    # Columns holding an instance id, shown as the instance's name under another name.
    instance_names: dict[str, str] = field(default_factory=dict)
    # The field that names a target (a name, a code, a key, a URL); None: the name of its instance.
    label: str | None = "name"


KINDS: dict[type[SQLModel], Kind] = {
    Partner: Kind("partner", ("name", "rate_limit"), partner="id"),
    ApiKey: Kind("api_key", ("name", "scopes", "lookup", "revoked_at"), ("key_hash",), partner="partner_id"),
    Instance: Kind(
        "instance",
        (
            "name",
            "display_name",
            "member_code",
            "cloned_from",
            "time_zone",
            "comms_enabled",
            "comms_sms",
            "comms_voice",
            "comms_email",
        ),
        instance="id",
        partner="partner_id",
    ),
    InstanceSetting: Kind("setting", ("key", "value"), instance="instance_id", label="key"),
    Membership: Kind(
        "membership", (), instance="member_id", instance_names={"portal_id": "portal"}, label=None
    ),
    Service: Kind(
        "service",
        ("code", "name", "duration_minutes", "price", "web_enabled"),
        instance="instance_id",
        label="code",
    ),
    Mapping: Kind(
        "mapping",
        (),
        instance="member_id",
        service_codes={"member_service_id": "member_service", "portal_service_id": "portal_service"},
        instance_names={"portal_id": "portal"},
        label="member_service",
    ),
    GesdentConnection: Kind(
        "gesdent",
        (
            "base_url",
            "resource_ids",
            "users_username",
            "reservations_username",
            "availability_username",
            "enabled",
            "interval_minutes",
            "window_days",
            "stale_after_minutes",
        ),
        ("users_password", "reservations_password", "availability_password", "webhook_secret"),
        instance="instance_id",
        label=None,
    ),
    WebhookEndpoint: Kind(
        "webhook_endpoint",
        ("url", "description", "event_types", "enabled", "disabled_reason", "previous_secret_expires_at"),
        ("secret", "previous_secret"),
        partner="partner_id",
        label="url",
    ),
}
BY_TABLE = {str(model.__tablename__): (model, kind) for model, kind in KINDS.items()}
_KEYS = {
    kind.name: tuple(c.name for c in table_of(model).primary_key.columns) for model, kind in KINDS.items()
}


def keys(kind: Kind) -> tuple[str, ...]:
    """The primary key's columns of a row of `kind`: what its target id is made of."""
    return _KEYS[kind.name]


def columns(kind: Kind) -> tuple[str, ...]:
    """Every column the trail reads of a row of `kind`, its primary key's first."""
    owners = [column for column in (kind.instance, kind.partner) if column is not None]
    return tuple(
        dict.fromkeys(
            [*keys(kind), *kind.fields, *kind.secrets, *kind.service_codes, *kind.instance_names, *owners]
        )
    )


def shown(value: Any) -> Any:
    """A column's value as JSON shows it."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
