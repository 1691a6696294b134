"""The spec's links (OpenAPI Link Objects): which answer names what a next request takes. A client,
or a tool such as schemathesis's stateful phase, follows them from a new instance to its settings,
services and rules, from a service to its update with the ETag in `If-Match`, from a membership to
its mappings. Declared here, one table for the whole API, so that no tool has to guess them from
names (guessing sent a new instance's name to its GESDENT rules, which it has none of yet).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

Link = dict[str, Any]

_ID = "$response.body#/id"
_NAME = {"path.name": "$response.body#/name"}
_SAME_NAME = {"path.name": "$request.path.name"}
_ETAG = {"header.If-Match": "$response.header.ETag"}
_MEMBER = {"path.portal": "$response.body#/portal", "path.member": "$response.body#/name"}
_MAPPING = {
    "path.portal": "$response.body#/portal",
    "path.member": "$response.body#/member",
    "path.member_service": "$response.body#/member_service",
}


def _to(operation_id: str, parameters: dict[str, str], description: str, **extra: Any) -> tuple[str, Link]:
    return operation_id, {
        "operationId": operation_id,
        "parameters": parameters,
        "description": description,
        **extra,
    }


_NEW_INSTANCE = dict(
    [
        _to("instances_get", _NAME, "The instance just created."),
        _to("instances_update", _NAME, "Change its display name or membership code."),
        _to("instances_delete", _NAME, "Delete it."),
        _to("instances_clone", _NAME, "Use it as the model of another instance."),
        _to("settings_get_all", _NAME, "Its settings (none yet)."),
        _to("settings_patch", _NAME, "Set some of its settings."),
        _to("communications_get", _NAME, "Its communications switch."),
        _to("communications_put", _NAME, "Turn its communications on or off."),
        _to("services_list", _NAME, "Its services (none yet)."),
        _to("services_create", _NAME, "Give it a service."),
        _to("gesdent_put", _NAME, "Set how the sync reaches its GESDENT server."),
        _to("sync_status_get", _NAME, "The state of its sync."),
        _to(
            "portals_create",
            {},
            "Make it a portal.",
            requestBody={"instance": "$response.body#/name"},
        ),
    ]
)
_SERVICE = {"path.name": "$request.path.name", "path.code": "$response.body#/code"}
_SETTING = {"path.name": "$request.path.name", "path.key": "$response.body#/key"}
_NEW_PORTAL = {"path.portal": "$response.body#/name"}
_NEW_GESDENT = dict(
    [
        _to("gesdent_get", _SAME_NAME, "The rules just saved."),
        _to("sync_runs_create", _SAME_NAME, "Run the sync now."),
    ]
)
_NEW_RUN = {"path.run_id": _ID}
_RUN = dict(
    [
        _to("sync_runs_get", _NEW_RUN, "The run, as it goes on."),
        _to("sync_runs_rejections_list", _NEW_RUN, "The records it skipped."),
    ]
)
_NEW_MAPPING = dict(
    [
        _to("mappings_get", _MAPPING, "The mapping."),
        _to("mappings_delete", _MAPPING, "Remove it."),
    ]
)

# (operationId, status) → the links of that answer, by name. A link leads where its values suffice:
# none to POST …/members from a new portal, whose 404 for an unknown instance in the body would read
# as the portal missing.
LINKS: dict[tuple[str, str], dict[str, Link]] = {
    ("partners_create", "201"): dict(
        [
            _to("partners_get", {"path.partner_id": _ID}, "The partner just created."),
            _to("api_keys_create", {"path.partner_id": _ID}, "Its first API key."),
            _to("api_keys_list", {"path.partner_id": _ID}, "Its API keys."),
        ]
    ),
    ("api_keys_create", "201"): dict(
        [_to("api_keys_revoke", {"path.key_id": "$response.body#/id"}, "Revoke it.")]
    ),
    ("instances_create", "201"): _NEW_INSTANCE,
    ("instances_clone", "201"): dict(
        [_to("instances_get", {"path.name": "$response.body#/instance/name"}, "The clone.")]
    ),
    ("instances_get", "200"): dict(
        [
            _to("instances_update", _NAME | _ETAG, "Change it, unless it changed since."),
            _to("instances_delete", _NAME | _ETAG, "Delete it, unless it changed since."),
        ]
    ),
    ("settings_get_all", "200"): dict(
        [_to("settings_patch", _SAME_NAME | _ETAG, "Change them, unless they changed since.")]
    ),
    **{
        ("settings_put", status): dict(
            [
                _to(
                    "settings_get",
                    {"path.name": "$request.path.name", "path.key": "$response.body#/key"},
                    "The setting.",
                ),
                _to(
                    "settings_delete",
                    {"path.name": "$request.path.name", "path.key": "$response.body#/key"} | _ETAG,
                    "Remove it, unless it changed since.",
                ),
            ]
        )
        for status in ("200", "201")
    },
    ("communications_get", "200"): dict(
        [_to("communications_put", _SAME_NAME | _ETAG, "Change the switch, unless it changed since.")]
    ),
    ("services_create", "201"): dict(
        [
            _to("services_get", _SERVICE, "The service just created."),
            _to("services_update", _SERVICE | _ETAG, "Change it, unless it changed since."),
            _to("services_delete", _SERVICE | _ETAG, "Delete it, unless it changed since."),
        ]
    ),
    ("services_get", "200"): dict(
        [
            _to("services_update", _SERVICE | _ETAG, "Change it, unless it changed since."),
            _to("services_delete", _SERVICE | _ETAG, "Delete it, unless it changed since."),
        ]
    ),
    ("gesdent_put", "200"): _NEW_GESDENT,
    ("gesdent_put", "201"): _NEW_GESDENT,
    ("gesdent_get", "200"): dict(
        [_to("gesdent_delete", _SAME_NAME | _ETAG, "Remove the rules, unless they changed.")]
    ),
    ("sync_runs_create", "200"): _RUN,
    ("sync_runs_create", "202"): _RUN,
    **{
        ("portals_create", status): dict(
            [
                _to("portals_get", _NEW_PORTAL, "The portal and its readiness."),
                _to("portals_report", _NEW_PORTAL, "Its summary report."),
                _to("members_list", _NEW_PORTAL, "Its members."),
                _to("portals_delete", _NEW_PORTAL, "Demote it."),
            ]
        )
        for status in ("200", "201")
    },
    ("members_add", "201"): dict(
        [
            _to("members_get", _MEMBER, "The membership."),
            _to("members_remove", _MEMBER, "Detach the member."),
            _to("mappings_list", _MEMBER, "Its mappings."),
            _to("mappings_create", _MEMBER, "Map one of its services."),
            _to("mappings_replace", _MEMBER, "Replace its mappings."),
            _to("mappings_suggest", _MEMBER, "Suggestions for its unmapped services."),
        ]
    ),
    ("mappings_create", "200"): _NEW_MAPPING,
    ("mappings_create", "201"): _NEW_MAPPING,
    ("mappings_get", "200"): dict(
        [
            _to("mappings_put", _MAPPING | _ETAG, "Retarget it, unless it changed since."),
            _to("mappings_delete", _MAPPING | _ETAG, "Remove it, unless it changed since."),
        ]
    ),
}


def add_links(spec: dict[str, Any]) -> None:
    """Put LINKS into the answers of `spec` they belong to (KeyError if an operation or an answer
    is missing: the table names only what exists)."""
    answers = {
        operation["operationId"]: operation["responses"]
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for (operation_id, status), links in LINKS.items():
        answers[operation_id][status]["links"] = links


def install(app: FastAPI) -> None:
    """Give the app's spec its links, once."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    linked: list[bool] = []

    def openapi() -> dict[str, Any]:
        spec = generate()
        if not linked:
            add_links(spec)
            linked.append(True)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
