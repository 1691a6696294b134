"""What a plan is made of: the changes it shows, the problems and warnings it reports, and the work an
apply does, instance by instance."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.errors import PorticoError
from app.domain.manifest_state import Action, Communications, Kind, ServiceValues, Value


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: Value
    after: Value


@dataclass(frozen=True, slots=True)
class Change:
    action: Action
    kind: Kind
    target: str
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class Problem:
    """An invariant the manifest would break, as the API's problem type for it."""

    kind: type[PorticoError]
    target: str
    detail: str


@dataclass(frozen=True, slots=True)
class Warning:
    code: str
    target: str
    message: str


@dataclass(slots=True)
class GesdentWork:
    """Rules to put, passwords in clear (None: keep the stored one); never shown."""

    base_url: str | None
    resource_ids: list[str]
    usernames: dict[str, str]
    passwords: dict[str, str | None]
    enabled: bool
    interval_minutes: int
    window_days: int
    stale_after_minutes: int | None


@dataclass(slots=True)
class InstanceWork:
    """What an apply does to one instance, in order: create (or update its fields), promote or
    attach, settings, communications, services, GESDENT rules, mappings, then deletes."""

    name: str
    create: bool = False
    cloned_from: str | None = None
    fields: dict[str, str | None] = field(default_factory=dict)
    promote: bool = False
    attach: bool = False
    settings: dict[str, str | None] = field(default_factory=dict)
    communications: Communications | None = None
    services: list[ServiceValues] = field(default_factory=list)  # to create or update
    delete_services: list[str] = field(default_factory=list)
    gesdent: GesdentWork | None = None
    mappings: list[tuple[str, str]] | None = None  # the whole set, when it changes

    @property
    def idle(self) -> bool:
        return not (
            self.create
            or self.fields
            or self.promote
            or self.attach
            or self.settings
            or self.communications
            or self.services
            or self.delete_services
            or self.gesdent
            or self.mappings is not None
        )


@dataclass(slots=True)
class Plan:
    fingerprint: str
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    portal: InstanceWork | None = None
    members: list[InstanceWork] = field(default_factory=list)
    detach: list[str] = field(default_factory=list)

    def change(self, action: Action, kind: Kind, target: str, **fields: tuple[Value, Value]) -> None:
        self.changes.append(
            Change(action, kind, target, tuple(FieldChange(k, b, a) for k, (b, a) in fields.items()))
        )

    def problem(self, kind: type[PorticoError], target: str, detail: str) -> None:
        self.problems.append(Problem(kind, target, detail))
