"""A member's GESDENT rules in a plan: what changes (a password only as `(secret)`), and every reason
the rules cannot be stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.domain import gesdent as rules
from app.domain.errors import ValidationFailed
from app.domain.manifest_plans import GesdentWork, InstanceWork, Plan
from app.domain.manifest_state import InstanceState, Value

if TYPE_CHECKING:
    from app.schemas.manifests import ManifestGesdent

HIDDEN = "(secret)"  # what a plan shows for a new password
STORED = "(stored secret)"  # and for the one it replaces


@dataclass(frozen=True)
class Secrets:
    """What the service learnt with the secret box: which supplied passwords differ from the stored
    ones, by (member, family); and why each member's base URL address is refused, by member."""

    differs: set[tuple[str, str]]
    address_problems: dict[str, str]


def gesdent_plan(
    result: Plan,
    work: InstanceWork,
    current: InstanceState,
    *,
    wanted: ManifestGesdent | None,
    supplied: dict[str, str],
    secrets: Secrets,
) -> None:
    if wanted is None:
        return
    name, target = current.name, f"{current.name}/gesdent"
    stored = current.gesdent
    problems: list[str] = []
    base_url = None
    if wanted.base_url is not None:
        problem = rules.base_url_problem(wanted.base_url) or rules.base_url_form_problem(wanted.base_url)
        problem = problem or secrets.address_problems.get(name)
        if problem:
            problems.append(f"base_url {problem}")
        base_url = rules.normalise_base_url(wanted.base_url)
    resource_ids, id_problems = rules.normalise_resource_ids(wanted.resource_ids)
    problems += id_problems
    after: dict[str, Value] = {
        "base_url": base_url,
        "resource_ids": " ".join(resource_ids),
        "enabled": wanted.enabled,
        "interval_minutes": wanted.interval_minutes,
        "window_days": wanted.window_days,
        "stale_after_minutes": wanted.stale_after_minutes,
    }
    before: dict[str, Value] = dict.fromkeys(after)
    if stored is not None:
        before = {key: getattr(stored, key) for key in after}
    passwords: dict[str, str | None] = {}
    for family in rules.FAMILIES:
        credential = getattr(wanted.credentials, family)
        after[f"{family}.username"] = credential.username
        before[f"{family}.username"] = stored.usernames[family] if stored else None
        has = stored is not None and stored.has_password[family]
        ref = credential.password_secret
        if ref is None:
            passwords[family] = None
            if not has:
                problems.append(f"{family}: a password is needed (none is stored); give password_secret")
            continue
        if ref not in supplied:
            problems.append(f"{family}: password_secret {ref!r} is not in secrets")
            continue
        passwords[family] = supplied[ref]
        if not has or (name, family) in secrets.differs:
            before[f"{family}.password"] = STORED if has else None
            after[f"{family}.password"] = HIDDEN
    for problem in problems:
        result.problem(ValidationFailed, target, problem)
    changed = {key: (before.get(key), value) for key, value in after.items() if before.get(key) != value}
    if not changed:
        return
    work.gesdent = GesdentWork(
        base_url=base_url,
        resource_ids=resource_ids,
        usernames={f: getattr(wanted.credentials, f).username for f in rules.FAMILIES},
        passwords=passwords,
        enabled=wanted.enabled,
        interval_minutes=wanted.interval_minutes,
        window_days=wanted.window_days,
        stale_after_minutes=wanted.stale_after_minutes,
    )
    result.change("create" if stored is None else "update", "gesdent", target, **changed)
