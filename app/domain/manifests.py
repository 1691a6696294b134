"""Plan a portal manifest against the current state: every change, every invariant it would break
(each as the API's problem type, all of them, not the first), warnings, and the work of an apply.
Pure: the state is loaded, and the passwords compared, by app/services/manifests.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.domain.conflicts import (
    AlreadyMember,
    MemberCannotBePortal,
    NameTaken,
    PortalCannotBeMember,
    PortalHasMembers,
    PortalNotReady,
    SelfMembership,
)
from app.domain.errors import NotFound, ValidationFailed
from app.domain.manifest_changes import (
    field_changes,
    mappings_changes,
    services_changes,
    settings_changes,
    values_of,
    warn_unmapped,
    with_web,
)
from app.domain.manifest_gesdent import Secrets, gesdent_plan
from app.domain.manifest_plans import InstanceWork, Plan, Warning
from app.domain.manifest_state import Communications, InstanceState, ServiceValues, State
from app.domain.rules import PORTAL_SETTING, PORTAL_VALUE

if TYPE_CHECKING:
    from app.schemas.manifests import ManifestMember, PortalManifest


def plan(manifest: PortalManifest, state: State, secrets: Secrets) -> Plan:
    result = Plan(state.fingerprint())
    portal_name = manifest.portal.name
    portal_services = _portal(result, manifest, state)
    listed = {m.name for m in manifest.members}
    staying = [] if manifest.prune else [n for n in state.members if n not in listed]
    joining = 0
    for member in manifest.members:
        joining += _member(result, manifest, member, state, portal_services=portal_services, secrets=secrets)
    if manifest.prune:
        for name, mappings in sorted(state.members.items()):
            if name not in listed:
                result.detach.append(name)
                result.change("delete", "membership", f"{portal_name}/members/{name}", mappings=(mappings, 0))
    comms = result.portal.communications if result.portal else None
    current = state.instances.get(portal_name)
    if (
        comms is not None
        and comms.enabled
        and (staying or joining or (current and current.member_of is None))
    ):
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
        field_changes(result, work, current, {"display_name": wanted.display_name})
    if wanted.settings is not None and wanted.settings.get(PORTAL_SETTING, PORTAL_VALUE) != PORTAL_VALUE:
        result.problem(
            ValidationFailed,
            f"{name}/settings/{PORTAL_SETTING}",
            f"a portal's {PORTAL_SETTING} is '{PORTAL_VALUE}'",
        )
    settings = {k: v for k, v in (wanted.settings or {}).items() if k != PORTAL_SETTING}
    settings_changes(result, work, current, None if wanted.settings is None else settings, manifest.prune)
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
    desired = None if wanted.services is None else [values_of(s) for s in wanted.services]
    return services_changes(result, work, current, desired, manifest.prune)


def _member(
    result: Plan,
    manifest: PortalManifest,
    wanted: ManifestMember,
    state: State,
    *,
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
            NotFound,
            name,
            f"Model instance {wanted.model} not found (nor listed before {name} with services).",
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
        field_changes(
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
    settings_changes(result, work, current, wanted.settings, manifest.prune)
    desired: list[ServiceValues] | None
    if isinstance(wanted.services, str):
        desired = model_services
    else:
        desired = None if wanted.services is None else [values_of(s) for s in wanted.services]
    prune_services = manifest.prune and desired is not None
    desired = with_web(result, name, wanted.web, desired, current)
    services = services_changes(result, work, current, desired, prune_services)
    mappings = mappings_changes(
        result,
        work,
        current,
        wanted,
        services=services,
        portal_services=portal_services,
        prune=manifest.prune,
        portal=portal,
    )
    warn_unmapped(result, name, services=services, mappings=mappings, work=work, current=current)
    gesdent_plan(result, work, current, wanted=wanted.gesdent, supplied=manifest.secrets, secrets=secrets)
    if wanted.gesdent is None and current.gesdent is None:
        result.warnings.append(
            Warning("no-gesdent-rules", name, f"{name} has no GESDENT rules: it will not sync")
        )
    result.members.append(work)
    return int(work.attach)


def _model_services(
    manifest: PortalManifest, wanted: ManifestMember, state: State
) -> list[ServiceValues] | None:
    """The services of the member's model: an instance of the caller's, or a member listed earlier in
    the manifest with its services (created by the same apply, before it)."""
    if wanted.model is None:
        return None
    for earlier in manifest.members:
        if earlier is wanted:
            break
        if earlier.name == wanted.model and isinstance(earlier.services, list):
            return [values_of(s) for s in earlier.services]
    model = state.instances.get(wanted.model)
    return None if model is None else list(model.services.values())


def _blank(name: str) -> InstanceState:
    return InstanceState("", name, name, None, 0, None, None, Communications())
