"""Parameters shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Path, Query
from pydantic import BeforeValidator

from app.domain.values import (
    INSTANCE_NAME_INPUT_PATTERN,
    SERVICE_CODE_PATTERN,
    SETTING_KEY_PATTERN,
    SINGLE_LINE_PATTERN,
)
from app.schemas.common import instance_name

_PREFIX_NOTE = " The `tt_` prefix may be left out."
# Path first: FastAPI reads the parameter's schema from it.
NamePath = Annotated[
    str,
    Path(pattern=INSTANCE_NAME_INPUT_PATTERN, description="Instance (database) name." + _PREFIX_NOTE),
    BeforeValidator(instance_name),
]
PortalPath = Annotated[
    str,
    Path(pattern=INSTANCE_NAME_INPUT_PATTERN, description="Name of the portal instance." + _PREFIX_NOTE),
    BeforeValidator(instance_name),
]
MemberPath = Annotated[
    str,
    Path(pattern=INSTANCE_NAME_INPUT_PATTERN, description="Name of the member instance." + _PREFIX_NOTE),
    BeforeValidator(instance_name),
]
# No `not: {enum: [import, export]}` here, unlike a code in a body: OpenAPI matches the concrete paths
# /services/import and /services/export first, so {code} never is one of them; and a tool that sends
# them as invalid codes reaches the import and the export, not this route.
ServiceCodePath = Annotated[str, Path(pattern=SERVICE_CODE_PATTERN, description="Service code.")]
SettingKeyPath = Annotated[str, Path(pattern=SETTING_KEY_PATTERN, description="Setting key.")]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=1000, description="ETag from a previous read; 412 when it is stale."),
]
Cascade = Annotated[
    bool, Query(description="Also remove what depends on this (invariant 6); the response lists it.")
]
SearchText = Annotated[
    str | None,
    Query(max_length=100, pattern=SINGLE_LINE_PATTERN, description="Case-insensitive substring to look for."),
]
