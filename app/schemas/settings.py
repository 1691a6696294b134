from __future__ import annotations

from typing import Annotated

from pydantic import Field, RootModel

from app.domain.values import SETTING_KEY_PATTERN
from app.schemas.common import Input, Output, SettingValue

SettingKey = Annotated[str, Field(pattern=SETTING_KEY_PATTERN, examples=["portalInstanceName"])]


class SettingsMap(RootModel[dict[str, str]]):
    """Every setting of an instance, key → value."""

    root: dict[str, str] = Field(examples=[{"portalInstanceName": "portal", "timezone": "Europe/Madrid"}])


class SettingsPatch(RootModel[dict[SettingKey, SettingValue | None]]):
    """JSON merge patch (RFC 7396): a string sets a key, null removes it, absent keys stay."""

    root: dict[SettingKey, SettingValue | None] = Field(
        max_length=200, examples=[{"portalInstanceName": "portal"}]
    )


class SettingPut(Input):
    """A setting's new value."""

    value: SettingValue = Field(examples=["portal"])


class SettingPublic(Output):
    """One setting of an instance."""

    key: str = Field(examples=["portalInstanceName"])
    value: str = Field(examples=["portal"])
