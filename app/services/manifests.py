"""Portal manifests: plan (nothing written), apply (one transaction, through the same services as the
API, guarded by the plan's fingerprint), export."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.repositories import manifests as repo
from app.domain import manifests as planner
from app.domain.gesdent import FAMILIES
from app.domain.manifest_gesdent import Secrets
from app.domain.manifest_plans import Plan
from app.domain.manifest_problems import ManifestInvalid, ManifestStateChanged
from app.domain.manifest_state import State
from app.schemas.manifests import ManifestApply, PortalManifest
from app.services import manifest_apply
from app.services.gesdent import Safeguards, address_problem
from app.services.instances import partner_of


def _names(manifest: PortalManifest) -> set[str]:
    names = {m.name for m in manifest.members}
    return names | {m.model for m in manifest.members if m.model}


async def plan(
    session: AsyncSession, principal: Principal, manifest: PortalManifest, guards: Safeguards
) -> Plan:
    """What applying `manifest` would change now, and everything that stands in its way."""
    state = await repo.load_state(session, partner_of(principal), manifest.portal.name, _names(manifest))
    return planner.plan(manifest, state, await _secrets(session, manifest, state, guards))


async def apply(
    session: AsyncSession,
    principal: Principal,
    body: ManifestApply,
    guards: Safeguards,
    default_time_zone: str,
) -> tuple[Plan, str]:
    """Apply the manifest if the state is still the one its plan's fingerprint names: all of it in the
    request's transaction, or nothing. Returns the plan it carried out and the new state's fingerprint."""
    manifest = body.manifest
    partner = partner_of(principal)
    await repo.lock(session, partner, {manifest.portal.name, *_names(manifest)})
    done = await plan(session, principal, manifest, guards)
    if done.fingerprint != body.fingerprint.strip():
        raise ManifestStateChanged(
            "The portal or its members changed since the plan: plan again, review, and apply the new plan.",
            etag=done.fingerprint,
        )
    if done.problems:
        raise invalid(done)
    if not done.changes:
        return done, done.fingerprint
    await manifest_apply.execute(session, principal, done, guards, default_time_zone)
    after = await repo.load_state(session, partner, manifest.portal.name, _names(manifest))
    return done, after.fingerprint()


def invalid(done: Plan) -> ManifestInvalid:
    shown = "; ".join(f"{p.target}: {p.detail}" for p in done.problems[:5])
    return ManifestInvalid(
        f"{len(done.problems)} problem(s), nothing was written: {shown}",
        problems=[
            {
                "type": f"/problems/{p.kind.slug}",
                "title": p.kind.title,
                "status": p.kind.status,
                "detail": p.detail,
                "target": p.target,
            }
            for p in done.problems
        ],
    )


async def _secrets(
    session: AsyncSession, manifest: PortalManifest, state: State, guards: Safeguards
) -> Secrets:
    """Which supplied passwords differ from the stored ones (decrypted here, compared, forgotten), and
    the address problem of each base URL (resolved once per host)."""
    differs: set[tuple[str, str]] = set()
    addresses: dict[str, str] = {}
    resolved: dict[str, str | None] = {}
    with_rules = [m for m in manifest.members if m.gesdent is not None]
    stored_ids = [state.instances[m.name].id for m in with_rules if m.name in state.instances]
    stored = await repo.stored_passwords(session, stored_ids)
    for member in with_rules:
        assert member.gesdent is not None
        current = state.instances.get(member.name)
        passwords = stored.get(current.id, {}) if current else {}
        for family in FAMILIES:
            ref = getattr(member.gesdent.credentials, family).password_secret
            if ref is None or ref not in manifest.secrets or not passwords.get(family):
                continue
            try:
                same = guards.box.decrypt(passwords[family]) == manifest.secrets[ref]
            except ValueError:  # under a key no longer configured: the new one replaces it
                same = False
            if not same:
                differs.add((member.name, family))
        url = member.gesdent.base_url
        if url is not None:
            if url not in resolved:
                resolved[url] = await address_problem(url, guards.allow_private)
            if resolved[url]:
                addresses[member.name] = str(resolved[url])
    return Secrets(differs, addresses)
