"""The conflicts: each invariant of the procedure (DESIGN.md §2) a request would break is its own
problem type, so that integrators can branch on it."""

from __future__ import annotations

from app.domain.errors import INSTANCE, PORTAL, Conflict, Member, UnmetRequirement


class NameTaken(Conflict):
    """An instance by that name exists already (names are unique across all partners)."""

    slug, title = "name-taken", "The name is already in use"
    fix = "Choose another name."
    members = {"instance": INSTANCE}


class PortalNotReady(Conflict):
    """The portal cannot take members yet: `unmet_requirements` lists what is missing."""

    slug, title = "portal-not-ready", "The portal is not ready to take members"
    fix = "Set `portalInstanceName=portal` and switch the portal's communications off, then retry."
    members = {"unmet_requirements": Member(list[UnmetRequirement], "What the portal still needs.")}


class PortalHasMembers(Conflict):
    """The change would leave a portal with members inconsistent: it cannot stop being a portal, be
    deleted, or switch its communications on while it has members."""

    slug, title = "portal-has-members", "The portal has members"
    fix = "Detach the members first, or repeat the request with `?cascade=true` where the route takes it."
    members = {"member_count": Member(int, "How many members the portal has.")}


class PortalCannotBeMember(Conflict):
    """A portal was asked to become a member of a portal."""

    slug, title = "portal-cannot-be-member", "A portal cannot be a member"
    fix = "Attach a member instance, not a portal."


class MemberCannotBePortal(Conflict):
    """A member of a portal was asked to become a portal."""

    slug, title = "member-cannot-be-portal", "A member cannot become a portal"
    fix = "Detach the instance from its portal first."
    members = {"portal": PORTAL}


class AlreadyMember(Conflict):
    """The instance is a member of a portal already (an instance belongs to at most one)."""

    slug, title = "already-member", "The instance is already a member of a portal"
    fix = "Detach it from the portal named in `portal` first, if it should move."
    members = {"portal": PORTAL}


class SelfMembership(Conflict):
    """A portal was asked to take itself as a member."""

    slug, title = "self-membership", "An instance cannot be a member of itself"
    fix = "Attach another instance."


class ServiceCodeTaken(Conflict):
    """The instance has a service with that code already (codes are unique per instance)."""

    slug, title = "service-code-taken", "The instance already has a service with this code"
    fix = "Choose another code, or change the existing service with PATCH."
    members = {"service": Member(str, "The code in use.")}


class ServiceMapped(Conflict):
    """Mappings use the service: removing it would leave them pointing at nothing."""

    slug, title = "service-mapped", "Mappings use the service"
    fix = "Remove the mappings first, or repeat the request with `?cascade=true` to remove them too."
    members = {
        "mapping_count": Member(int, "How many mappings use the services."),
        "services": Member(list[str], "The codes of the services the mappings use."),
    }


class MemberHasMappings(Conflict):
    """The member has mappings: detaching it would leave them pointing at nothing."""

    slug, title = "member-has-mappings", "The member has mappings"
    fix = "Remove the mappings first, or repeat the request with `?cascade=true` to remove them too."
    members = {"mapping_count": Member(int, "How many mappings the member has.")}


class AlreadyMapped(Conflict):
    """The member service maps to another portal service already (a member service maps to at most one)."""

    slug, title = "already-mapped", "The member service already maps to another portal service"
    fix = "Use PUT on the mapping to replace it, or delete the existing mapping first."
    members = {"existing_portal_service": Member(str, "The portal service it maps to now.")}


class ConcurrentChange(Conflict):
    """A database constraint refused the request's writes at commit: a concurrent request changed the
    same rows first. Nothing of the request was written; repeating it gives the up-to-date answer."""

    slug, title = "concurrent-change", "Another request changed the same data at the same moment"
    fix = "Repeat the request."


class SourceNotMember(Conflict):
    """A clone was asked to join the source's portal, but the source is not a member of one."""

    slug, title = "source-not-member", "The source instance is not a member of a portal"
    fix = "Clone without `join_portal`, or clone a member of a portal."


class GesdentNotConfigured(Conflict):
    """A sync was asked for an instance whose GESDENT connection rules are missing or incomplete."""

    slug, title = (
        "gesdent-not-configured",
        "The instance's GESDENT connection rules are missing or incomplete",
    )
    fix = "Complete the rules with `PUT /v1/instances/{name}/gesdent`, then trigger the sync again."
    members = {"missing": Member(list[str], "The parts of the rules that are missing.", optional=True)}
