"""What a manifest is compared with: the current state of exactly the instances it names (the portal,
its members, their models) and of the portal's members, as plain values; and its fingerprint."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Value = str | int | bool | list[str] | None
Action = Literal["create", "update", "delete"]
Kind = Literal[
    "instance", "portal", "communications", "setting", "service", "membership", "mapping", "gesdent"
]


@dataclass(frozen=True, slots=True)
class ServiceValues:
    """A service as a manifest writes it."""

    code: str
    name: str
    duration_minutes: int
    price: Decimal | None
    web_enabled: bool


@dataclass(frozen=True, slots=True)
class GesdentValues:
    """Stored GESDENT rules, without a secret: whether each family has a password, and the version
    (which changes with any password)."""

    base_url: str | None
    resource_ids: str
    usernames: dict[str, str]
    has_password: dict[str, bool]
    enabled: bool
    interval_minutes: int
    window_days: int
    stale_after_minutes: int | None
    version: int


@dataclass(frozen=True, slots=True)
class Communications:
    enabled: bool = True
    sms: bool = True
    voice: bool = True
    email: bool = True


@dataclass(slots=True)
class InstanceState:
    """One of the caller's instances, with all a manifest can say about it."""

    id: str
    name: str
    display_name: str
    member_code: str | None
    version: int
    portal_setting: str | None
    member_of: str | None
    communications: Communications
    settings: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceValues] = field(default_factory=dict)
    mappings: dict[str, str] = field(default_factory=dict)  # member service code → portal service code
    gesdent: GesdentValues | None = None


@dataclass(slots=True)
class State:
    """The caller's instances the manifest names, by name; the names it gives that another partner
    holds; and the portal's current members with how many mappings each has."""

    instances: dict[str, InstanceState]
    taken: set[str]
    members: dict[str, int]

    def fingerprint(self) -> str:
        """A hash of all of it: any change to what the manifest touches gives another one."""
        data = {
            "instances": dict(sorted(self.instances.items())),
            "taken": sorted(self.taken),
            "members": sorted(self.members.items()),
        }
        text = json.dumps(data, sort_keys=True, default=_plain)
        return f'"{hashlib.sha256(text.encode()).hexdigest()[:40]}"'


def _plain(value: object) -> object:
    """What JSON shows of a value it has no form for: a dataclass as the dict of its fields (the JSON
    of `dataclasses.asdict`, without its deep copy of 20,000 services), anything else as its text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: getattr(value, name) for name in value.__dataclass_fields__}
    return str(value)
