"""Invariants 1, 2, 3 and 6 of the portal procedure (DESIGN.md §2) as pure functions."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.conflicts import (
    AlreadyMember,
    MemberCannotBePortal,
    MemberHasMappings,
    PortalCannotBeMember,
    PortalHasMembers,
    PortalNotReady,
    SelfMembership,
)
from app.domain.values import RequirementCode

PORTAL_SETTING = "portalInstanceName"
PORTAL_VALUE = "portal"


@dataclass(frozen=True)
class Requirement:
    """One condition a portal must meet before it takes members."""

    code: RequirementCode
    message: str


@dataclass(frozen=True)
class InstanceFacts:
    """What the rules need to know about an instance; loaded by the services."""

    name: str
    portal_setting: str | None
    communications_enabled: bool
    member_of: str | None = None
    member_count: int = 0

    @property
    def is_portal(self) -> bool:
        return self.portal_setting == PORTAL_VALUE

    @property
    def kind(self) -> str:
        return kind_of(self.portal_setting, self.member_of)


def kind_of(portal_setting: str | None, member_of: str | None) -> str:
    if portal_setting == PORTAL_VALUE:
        return "portal"
    if member_of is not None:
        return "member"
    return "standalone"


def unmet_requirements(portal_setting: str | None, communications_enabled: bool) -> list[Requirement]:
    """Every reason the instance is not a ready portal (empty when ready)."""
    unmet = []
    if portal_setting != PORTAL_VALUE:
        unmet.append(
            Requirement(
                "portal-instance-name",
                f"setting {PORTAL_SETTING} must be '{PORTAL_VALUE}' (is {_shown(portal_setting)})",
            )
        )
    if communications_enabled:
        unmet.append(
            Requirement(
                "communications-enabled",
                "the general switch for automatic SMS, voice and e-mail must be off",
            )
        )
    return unmet


def check_can_add_member(portal: InstanceFacts, member: InstanceFacts) -> None:
    """Invariants 1 and 3 for attaching `member` to `portal`."""
    if portal.name == member.name:
        raise SelfMembership(f"{member.name} cannot be a member of itself")
    if member.is_portal:
        raise PortalCannotBeMember(f"{member.name} is a portal and cannot be a member of another portal")
    if member.member_of is not None:
        where = "this portal" if member.member_of == portal.name else f"portal {member.member_of}"
        raise AlreadyMember(f"{member.name} is already a member of {where}", portal=member.member_of)
    if portal.member_of is not None:
        raise PortalNotReady(
            f"{portal.name} is a member of portal {portal.member_of} and cannot take members",
            unmet_requirements=[{"code": "is-member", "message": f"{portal.name} is a member"}],
        )
    unmet = unmet_requirements(portal.portal_setting, portal.communications_enabled)
    if unmet:
        raise PortalNotReady(
            f"{portal.name} is not ready: " + "; ".join(r.message for r in unmet),
            unmet_requirements=[{"code": r.code, "message": r.message} for r in unmet],
        )


def check_setting_change(instance: InstanceFacts, key: str, new_value: str | None) -> None:
    """Invariants 2 and 3 for setting (or, with None, removing) a setting."""
    if key != PORTAL_SETTING or new_value == instance.portal_setting:
        return
    if new_value == PORTAL_VALUE and instance.member_of is not None:
        raise MemberCannotBePortal(
            f"{instance.name} is a member of portal {instance.member_of} and cannot become a portal",
            portal=instance.member_of,
        )
    if instance.is_portal and instance.member_count > 0:
        raise PortalHasMembers(
            f"{instance.name} has {instance.member_count} member(s); "
            f"{PORTAL_SETTING} cannot change while it has members",
            member_count=instance.member_count,
        )


def check_communications_change(instance: InstanceFacts, enabled: bool) -> None:
    """Invariant 2: a portal with members keeps its communications off."""
    if enabled and instance.is_portal and instance.member_count > 0:
        raise PortalHasMembers(
            f"{instance.name} has {instance.member_count} member(s); "
            "its communications cannot be switched on",
            member_count=instance.member_count,
        )


def check_can_promote(instance: InstanceFacts) -> None:
    """Invariant 3: a member cannot become a portal."""
    check_setting_change(instance, PORTAL_SETTING, PORTAL_VALUE)


def check_can_demote(instance: InstanceFacts, cascade: bool) -> None:
    """Invariant 6: demoting a portal that has members needs an explicit cascade."""
    if instance.member_count > 0 and not cascade:
        raise PortalHasMembers(
            f"{instance.name} has {instance.member_count} member(s); remove them first "
            "or repeat with ?cascade=true",
            member_count=instance.member_count,
        )


def check_can_detach_member(member: str, mapping_count: int, cascade: bool) -> None:
    """Invariant 6: a member with mappings leaves its portal only with an explicit cascade."""
    if mapping_count > 0 and not cascade:
        raise MemberHasMappings(
            f"{member} has {mapping_count} mapping(s); remove them first or repeat with ?cascade=true",
            mapping_count=mapping_count,
        )


def check_can_delete_instance(instance: InstanceFacts, cascade: bool) -> None:
    """Invariant 6: deleting a portal with members needs an explicit cascade."""
    if instance.is_portal:
        check_can_demote(instance, cascade)


def _shown(value: str | None) -> str:
    return "unset" if value is None else repr(value)
