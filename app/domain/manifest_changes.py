"""A member's and the portal's own changes in a plan: fields, settings, services (with the `web`
flags over them) and mappings, and the warnings about what will not show on the portal."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from app.domain.conflicts import ServiceMapped
from app.domain.errors import ValidationFailed
from app.domain.manifest_plans import InstanceWork, Plan, Warning
from app.domain.manifest_state import Action, InstanceState, ServiceValues, Value
from app.domain.rules import PORTAL_SETTING

if TYPE_CHECKING:
    from app.schemas.manifests import ManifestMember
    from app.schemas.services import ServiceCreate

_SHOWN = 10  # unmapped codes a warning names


def values_of(service: ServiceCreate) -> ServiceValues:
    return ServiceValues(
        service.code, service.name, service.duration_minutes, service.price, service.web_enabled
    )


def shown(value: object) -> Value:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    assert value is None or isinstance(value, (str, int, bool, list))
    return value


def field_changes(
    result: Plan, work: InstanceWork, current: InstanceState, wanted: dict[str, str | None]
) -> None:
    changed: dict[str, str | None] = {
        k: v for k, v in wanted.items() if v is not None and getattr(current, k) != v
    }
    if changed:
        work.fields = changed
        result.change(
            "update", "instance", current.name, **{k: (getattr(current, k), v) for k, v in changed.items()}
        )


def settings_changes(
    result: Plan, work: InstanceWork, current: InstanceState, wanted: dict[str, str] | None, prune: bool
) -> None:
    if wanted is None:
        return
    for key, value in sorted(wanted.items()):
        before = current.settings.get(key)
        if before != value:
            work.settings[key] = value
            result.change(
                "create" if before is None else "update",
                "setting",
                f"{current.name}/settings/{key}",
                value=(before, value),
            )
    for key, before in sorted(current.settings.items()):
        if prune and key not in wanted and key != PORTAL_SETTING:
            work.settings[key] = None
            result.change("delete", "setting", f"{current.name}/settings/{key}", value=(before, None))


def with_web(
    result: Plan,
    name: str,
    web: dict[str, bool] | None,
    desired: list[ServiceValues] | None,
    current: InstanceState,
) -> list[ServiceValues] | None:
    """The services with the manifest's `web` flags over them (over the current ones when the
    manifest does not list services)."""
    if not web:
        return desired
    base = {s.code: s for s in (desired if desired is not None else current.services.values())}
    for code in sorted(set(web) - set(base)):
        result.problem(ValidationFailed, f"{name}/services/{code}", f"web: {name} has no service {code}")
    flagged = {code: _replace_web(s, web.get(code, s.web_enabled)) for code, s in base.items()}
    if desired is None:  # only the flagged ones are managed
        return [flagged[c] for c in base if c in web] or None
    return list(flagged.values())


def _replace_web(service: ServiceValues, web_enabled: bool) -> ServiceValues:
    return ServiceValues(service.code, service.name, service.duration_minutes, service.price, web_enabled)


def services_changes(
    result: Plan, work: InstanceWork, current: InstanceState, desired: list[ServiceValues] | None, prune: bool
) -> set[str]:
    """Services to create, update and (with prune) delete; returns the codes there will be."""
    if desired is None:
        return set(current.services)
    wanted = {s.code: s for s in desired}
    for service in desired:
        before = current.services.get(service.code)
        if before is None:
            work.services.append(service)
            result.change(
                "create",
                "service",
                f"{current.name}/services/{service.code}",
                **{k: (None, shown(getattr(service, k))) for k in SERVICE_FIELDS},
            )
        elif before != service:
            work.services.append(service)
            result.change(
                "update",
                "service",
                f"{current.name}/services/{service.code}",
                **{
                    k: (shown(getattr(before, k)), shown(getattr(service, k)))
                    for k in SERVICE_FIELDS
                    if getattr(before, k) != getattr(service, k)
                },
            )
    if prune:
        work.delete_services = sorted(set(current.services) - set(wanted))
        for code in work.delete_services:
            result.change("delete", "service", f"{current.name}/services/{code}")
    return set(current.services) - set(work.delete_services) | set(wanted)


SERVICE_FIELDS = ("name", "duration_minutes", "price", "web_enabled")


def mappings_changes(
    result: Plan,
    work: InstanceWork,
    current: InstanceState,
    wanted: ManifestMember,
    *,
    services: set[str],
    portal_services: set[str],
    prune: bool,
    portal: str,
) -> dict[str, str]:
    """The member's mappings to be; every one must join a service it will have to one the portal will."""
    name = current.name
    if wanted.mappings is None:
        desired = dict(current.mappings)
    else:
        desired = {} if prune else dict(current.mappings)
        desired.update(wanted.mappings)
    for member_code, portal_code in sorted(desired.items()):
        target = f"{portal}/members/{name}/mappings/{member_code}"
        explicit = wanted.mappings is not None and member_code in wanted.mappings
        if member_code not in services:
            kind = ValidationFailed if explicit else ServiceMapped
            result.problem(
                kind,
                target,
                f"{name} has no service {member_code}"
                if explicit
                else f"service {member_code} of {name} is mapped; it cannot be deleted",
            )
        if portal_code not in portal_services:
            kind = ValidationFailed if explicit else ServiceMapped
            result.problem(
                kind,
                target,
                f"portal {portal} has no service {portal_code}"
                if explicit
                else f"portal service {portal_code} is mapped by {name}; it cannot be deleted",
            )
    if desired == current.mappings:
        return desired
    work.mappings = sorted(desired.items())
    for code in sorted(set(desired) | set(current.mappings)):
        before, after = current.mappings.get(code), desired.get(code)
        if before != after:
            action: Action = "create" if before is None else "delete" if after is None else "update"
            result.change(
                action, "mapping", f"{portal}/members/{name}/mappings/{code}", portal_service=(before, after)
            )
    return desired


def warn_unmapped(
    result: Plan,
    name: str,
    *,
    services: set[str],
    mappings: dict[str, str],
    work: InstanceWork,
    current: InstanceState,
) -> None:
    after = {**current.services, **{s.code: s for s in work.services}}
    web = {code for code, s in after.items() if s.web_enabled}
    unmapped = sorted((web & services) - set(mappings))
    if unmapped:
        shown = ", ".join(unmapped[:_SHOWN]) + (" …" if len(unmapped) > _SHOWN else "")
        result.warnings.append(
            Warning(
                "web-enabled-unmapped",
                name,
                f"{name}: web-enabled but unmapped services will not appear on the portal: {shown}",
            )
        )
