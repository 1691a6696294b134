"""Plan a portal manifest against the current state: every change, every invariant it would break
(each as the API's problem type, all of them, not the first), warnings, and the work of an apply.
Pure: the state is loaded, and the passwords compared, by app/services/manifests.py."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from app.domain.conflicts import (
    AlreadyMember,
    MemberCannotBePortal,
    NameTaken,
    PortalCannotBeMember,
    PortalHasMembers,
    PortalNotReady,
    SelfMembership,
    ServiceMapped,
)
from app.domain.errors import NotFound, ValidationFailed
from app.domain.manifest_gesdent import Secrets, gesdent_plan
from app.domain.manifest_plans import InstanceWork, Plan, Warning
from app.domain.manifest_state import Communications, InstanceState, ServiceValues, State, Value
from app.domain.rules import PORTAL_SETTING, PORTAL_VALUE

if TYPE_CHECKING:
    from app.schemas.manifests import ManifestMember, PortalManifest
    from app.schemas.services import ServiceCreate


def plan(manifest: PortalManifest, state: State, secrets: Secrets) -> Plan:
    result = Plan(state.fingerprint())
    portal_name = manifest.portal.name
    portal_services = _portal(result, manifest, state)
    listed = {m.name for m in manifest.members}
    staying = [] if manifest.prune else [n for n in state.members if n not in listed]
    joining = 0
    for member in manifest.members:
        joining += _member(result, manifest, member, state, portal_services, secrets)
    if manifest.prune:
        for name, mappings in sorted(state.members.items()):
            if name not in listed:
                result.detach.append(name)
                result.change("delete", "membership", f"{portal_name}/members/{name}", mappings=(mappings, 0))
    comms = result.portal.communications if result.portal else None
    current = state.instances.get(portal_name)
    if comms is not None and comms.enabled and (staying or joining or current and current.member_of is None):
        if staying or any(m.name in state.members for m in manifest.members):
            count = len(staying) + len([m for m in manifest.members if m.name in state.members])
            result.problem(
                PortalHasMembers,
                portal_name,
                f"{portal_name} has {count} member(s); its communications cannot be switched on",
            )
        elif joining:
            result.problem(
                PortalNotReady,
                portal_name,
                f"{portal_name} is not ready: the general switch "
                "for automatic SMS, voice and e-mail must be off to take members",
            )
    return result


def _portal(result: Plan, manifest: PortalManifest, state: State) -> set[str]:
    """The portal's changes; returns the codes of the portal services there will be."""
    wanted = manifest.portal
    name = wanted.name
    current = state.instances.get(name)
    work = result.portal = InstanceWork(name)
    if current is None:
        if name in state.taken:
            result.problem(NameTaken, name, f"An instance named {name} already exists.")
            return {s.code for s in wanted.services or []}
        work.create = work.promote = True
        work.fields = {"display_name": wanted.display_name} if wanted.display_name else {}
        result.change("create", "instance", name, display_name=(None, wanted.display_name or name))
        result.change("create", "portal", name, **{PORTAL_SETTING: (None, PORTAL_VALUE)})
        current = _blank(name)
    else:
        if current.member_of is not None:
            result.problem(
                MemberCannotBePortal,
                name,
                f"{name} is a member of portal {current.member_of} and cannot become a portal",
            )
        if current.portal_setting != PORTAL_VALUE:
            work.promote = True
            result.change(
                "update", "portal", name, **{PORTAL_SETTING: (current.portal_setting, PORTAL_VALUE)}
            )
        _fields(result, work, current, {"display_name": wanted.display_name})
    if wanted.settings is not None and wanted.settings.get(PORTAL_SETTING, PORTAL_VALUE) != PORTAL_VALUE:
        result.problem(
            ValidationFailed,
            f"{name}/settings/{PORTAL_SETTING}",
            f"a portal's {PORTAL_SETTING} is '{PORTAL_VALUE}'",
        )
    settings = {k: v for k, v in (wanted.settings or {}).items() if k != PORTAL_SETTING}
    _settings(result, work, current, None if wanted.settings is None else settings, manifest.prune)
    comms = wanted.communications
    before = Communications(
        enabled=False if work.promote else current.communications.enabled,
        sms=current.communications.sms,
        voice=current.communications.voice,
        email=current.communications.email,
    )
    after = Communications(
        enabled=comms.enabled if comms else False,
        sms=before.sms if comms is None or comms.sms is None else comms.sms,
        voice=before.voice if comms is None or comms.voice is None else comms.voice,
        email=before.email if comms is None or comms.email is None else comms.email,
    )
    if after != before:
        work.communications = after
        result.change(
            "update",
            "communications",
            name,
            **{
                k: (getattr(before, k), getattr(after, k))
                for k in ("enabled", "sms", "voice", "email")
                if getattr(before, k) != getattr(after, k)
            },
        )
    desired = None if wanted.services is None else [_values(s) for s in wanted.services]
    return _services(result, work, current, desired, manifest.prune)


def _member(
    result: Plan,
    manifest: PortalManifest,
    wanted: ManifestMember,
    state: State,
    portal_services: set[str],
    secrets: Secrets,
) -> int:
    """One member's changes; returns 1 when it joins the portal."""
    portal = manifest.portal.name
    name = wanted.name
    current = state.instances.get(name)
    if name == portal:
        result.problem(SelfMembership, name, f"{name} cannot be a member of itself")
        return 0
    work = InstanceWork(name)
    model_services = _model_services(manifest, wanted, state)
    if wanted.model and model_services is None:
        result.problem(
            NotFound, name, f"Model instance {wanted.model} not found (nor listed before {name} with services)."
        )
    if current is None:
        if name in state.taken:
            result.problem(NameTaken, name, f"An instance named {name} already exists.")
            return 0
        work.create, work.cloned_from = True, wanted.model
        fields = {"display_name": wanted.display_name, "member_code": wanted.member_code}
        work.fields = {k: v for k, v in fields.items() if v is not None}
        created = {
            "display_name": (None, wanted.display_name or name),
            "member_code": (None, wanted.member_code),
        }
        result.change(
            "create",
            "instance",
            name,
            **created,
            **({"cloned_from": (None, wanted.model)} if wanted.model else {}),
        )
        current = _blank(name)
    elif current.portal_setting == PORTAL_VALUE:
        result.problem(
            PortalCannotBeMember, name, f"{name} is a portal and cannot be a member of another portal"
        )
        return 0
    elif current.member_of not in (None, portal):
        result.problem(AlreadyMember, name, f"{name} is already a member of portal {current.member_of}")
        return 0
    else:
        _fields(
            result, work, current, {"display_name": wanted.display_name, "member_code": wanted.member_code}
        )
    if current.member_of != portal:
        work.attach = True
        result.change("create", "membership", f"{portal}/members/{name}")
    if (wanted.settings or {}).get(PORTAL_SETTING) == PORTAL_VALUE:
        result.problem(
            MemberCannotBePortal,
            f"{name}/settings/{PORTAL_SETTING}",
            f"{name} is a member of portal {portal} and cannot become a portal",
        )
    _settings(result, work, current, wanted.settings, manifest.prune)
    desired: list[ServiceValues] | None
    if isinstance(wanted.services, str):
        desired = model_services
    else:
        desired = None if wanted.services is None else [_values(s) for s in wanted.services]
    prune_services = manifest.prune and desired is not None
    desired = _with_web(result, name, wanted.web, desired, current)
    services = _services(result, work, current, desired, prune_services)
    mappings = _mappings(result, work, current, wanted, services, portal_services, manifest.prune, portal)
    _unmapped(result, name, services, mappings, work, current)
    gesdent_plan(result, work, current, wanted.gesdent, manifest.secrets, secrets)
    if wanted.gesdent is None and current.gesdent is None:
        result.warnings.append(
            Warning("no-gesdent-rules", name, f"{name} has no GESDENT rules: it will not sync")
        )
    result.members.append(work)
    return int(work.attach)


def _model_services(manifest: PortalManifest, wanted: ManifestMember, state: State) -> list[ServiceValues] | None:
    """The services of the member's model: an instance of the caller's, or a member listed earlier in
    the manifest with its services (created by the same apply, before it)."""
    if wanted.model is None:
        return None
    for earlier in manifest.members:
        if earlier is wanted:
            break
        if earlier.name == wanted.model and isinstance(earlier.services, list):
            return [_values(s) for s in earlier.services]
    model = state.instances.get(wanted.model)
    return None if model is None else list(model.services.values())


def _blank(name: str) -> InstanceState:
    return InstanceState("", name, name, None, 0, None, None, Communications())


def _values(service: ServiceCreate) -> ServiceValues:
    return ServiceValues(
        service.code, service.name, service.duration_minutes, service.price, service.web_enabled
    )


def _shown(value: object) -> Value:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    assert value is None or isinstance(value, (str, int, bool, list))
    return value


def _fields(result: Plan, work: InstanceWork, current: InstanceState, wanted: dict[str, str | None]) -> None:
    changed = {k: v for k, v in wanted.items() if v is not None and getattr(current, k) != v}
    if changed:
        work.fields = changed
        result.change(
            "update", "instance", current.name, **{k: (getattr(current, k), v) for k, v in changed.items()}
        )


def _settings(
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


def _with_web(
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


def _services(
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
                **{k: (None, _shown(getattr(service, k))) for k in _SERVICE_FIELDS},
            )
        elif before != service:
            work.services.append(service)
            result.change(
                "update",
                "service",
                f"{current.name}/services/{service.code}",
                **{
                    k: (_shown(getattr(before, k)), _shown(getattr(service, k)))
                    for k in _SERVICE_FIELDS
                    if getattr(before, k) != getattr(service, k)
                },
            )
    if prune:
        work.delete_services = sorted(set(current.services) - set(wanted))
        for code in work.delete_services:
            result.change("delete", "service", f"{current.name}/services/{code}")
    return set(current.services) - set(work.delete_services) | set(wanted)


_SERVICE_FIELDS = ("name", "duration_minutes", "price", "web_enabled")


def _mappings(
    result: Plan,
    work: InstanceWork,
    current: InstanceState,
    wanted: ManifestMember,
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
            action = "create" if before is None else "delete" if after is None else "update"
            result.change(
                action, "mapping", f"{portal}/members/{name}/mappings/{code}", portal_service=(before, after)
            )
    return desired


def _unmapped(
    result: Plan,
    name: str,
    services: set[str],
    mappings: dict[str, str],
    work: InstanceWork,
    current: InstanceState,
) -> None:
    after = {**current.services, **{s.code: s for s in work.services}}
    web = {code for code, s in after.items() if s.web_enabled}
    unmapped = sorted((web & services) - set(mappings))
    if unmapped:
        shown = ", ".join(unmapped[:10]) + (" …" if len(unmapped) > 10 else "")
        result.warnings.append(
            Warning(
                "web-enabled-unmapped",
                name,
                f"{name}: web-enabled but unmapped services will not appear on the portal: {shown}",
            )
        )
