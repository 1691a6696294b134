"""What plan and apply answer: the changes, the problems, the warnings, and the fingerprint."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.domain.manifest_plans import Plan
from app.domain.manifest_problems import ManifestProblem
from app.schemas.common import Output

ChangeValue = str | int | bool | list[str] | None


class FieldChangePublic(Output):
    """One field of a change: before and after (null: absent). A password shows as `(secret)`."""

    field: str = Field(examples=["duration_minutes"])
    before: ChangeValue = Field(examples=[30])
    after: ChangeValue = Field(examples=[45])


class ChangePublic(Output):
    """One create, update or delete, and the fields it changes."""

    action: Literal["create", "update", "delete"]
    kind: Literal[
        "instance", "portal", "communications", "setting", "service", "membership", "mapping", "gesdent"
    ]
    target: str = Field(examples=["tt_clinic_north/services/LIMP"])
    fields: list[FieldChangePublic]


class WarningPublic(Output):
    """Something that will work, but probably not as meant."""

    code: Literal["web-enabled-unmapped", "no-gesdent-rules"]
    target: str = Field(examples=["tt_clinic_north"])
    message: str = Field(examples=["tt_clinic_north has no GESDENT rules: it will not sync"])


class ChangeSummary(Output):
    """How many changes of each action."""

    create: int = Field(examples=[3])
    update: int = Field(examples=[1])
    delete: int = Field(examples=[0])


class ManifestPlanPublic(Output):
    """What applying the manifest would change now. Apply it with `fingerprint`: if anything it
    touches changes first, the apply is refused (412) instead of doing something else than reviewed."""

    portal: str = Field(examples=["tt_portal_sanitas"])
    fingerprint: str = Field(examples=['"5d41402abc4b2a76b9719d911017c592aa1b2c3d"'])
    summary: ChangeSummary
    changes: list[ChangePublic]
    problems: list[ManifestProblem] = Field(
        description="Every invariant the manifest would break; empty to apply."
    )
    warnings: list[WarningPublic] = Field(
        examples=[
            [
                {
                    "code": "no-gesdent-rules",
                    "target": "tt_clinic_north",
                    "message": "tt_clinic_north has no GESDENT rules: it will not sync",
                }
            ]
        ]
    )


class ManifestApplied(Output):
    """What the apply changed (the plan it carried out), and the fingerprint of the state it left."""

    portal: str = Field(examples=["tt_portal_sanitas"])
    fingerprint: str = Field(examples=['"9e107d9d372bb6826bd81d3542a419d6aa1b2c3d"'])
    summary: ChangeSummary
    changes: list[ChangePublic]
    warnings: list[WarningPublic] = Field(
        examples=[
            [
                {
                    "code": "no-gesdent-rules",
                    "target": "tt_clinic_north",
                    "message": "tt_clinic_north has no GESDENT rules: it will not sync",
                }
            ]
        ]
    )


def plan_document(portal: str, plan: Plan) -> dict[str, Any]:
    """The answer of a plan, as ManifestPlanPublic describes it, ready for JSON. Built as plain data,
    not validated: its values come from the plan's own typed fields, and a plan of 40,000 changes
    spent most of its time in pydantic checking them again (tests check the shape against the
    model)."""
    actions = [c.action for c in plan.changes]
    return {
        "portal": portal,
        "fingerprint": plan.fingerprint,
        "summary": {
            "create": actions.count("create"),
            "update": actions.count("update"),
            "delete": actions.count("delete"),
        },
        "changes": [
            {
                "action": c.action,
                "kind": c.kind,
                "target": c.target,
                "fields": [{"field": f.field, "before": f.before, "after": f.after} for f in c.fields],
            }
            for c in plan.changes
        ],
        "problems": [
            {
                "type": f"/problems/{p.kind.slug}",
                "title": p.kind.title,
                "status": p.kind.status,
                "detail": p.detail,
                "target": p.target,
            }
            for p in plan.problems
        ],
        "warnings": [{"code": w.code, "target": w.target, "message": w.message} for w in plan.warnings],
    }


def applied_document(planned: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    """The answer of an apply (ManifestApplied): the plan it carried out, with the state's new
    fingerprint."""
    return {
        "portal": planned["portal"],
        "fingerprint": fingerprint,
        "summary": planned["summary"],
        "changes": planned["changes"],
        "warnings": planned["warnings"],
    }
