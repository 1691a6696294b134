"""The problems of portal manifests (app/domain/manifests.py): one that lists every invariant a
manifest would break, and the 412 of an apply whose plan is stale."""

from __future__ import annotations

from typing_extensions import TypedDict

from app.domain.errors import Member, PorticoError, PreconditionFailed


class ManifestProblem(TypedDict):
    """One invariant a manifest would break, as the API's own problem type for it, and where."""

    type: str
    title: str
    status: int
    detail: str
    target: str


class ManifestInvalid(PorticoError):
    """A portal manifest would break invariants or names what does not exist; `problems` lists every
    one (each with the problem type the API answers for it). Nothing was written."""

    status, slug, title = 422, "manifest-invalid", "The manifest cannot be applied"
    fix = "Plan the manifest, correct everything `problems` lists, plan again and apply that plan."
    members = {"problems": Member(list[ManifestProblem], "Every problem, with its `type` and `target`.")}


class ManifestStateChanged(PreconditionFailed):
    """The portal or its members changed since the plan whose fingerprint the apply carries: the
    reviewed plan is no longer what the apply would do. Nothing was written."""

    slug, title = "manifest-state-changed", "The state changed since the plan"
    fix = "Plan again, review the new plan, and apply it with its fingerprint (`etag` is the current one)."
