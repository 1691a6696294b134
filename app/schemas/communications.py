from __future__ import annotations

from pydantic import Field, StrictBool

from app.db.models import Instance
from app.schemas.common import Input, Output


class CommunicationsPut(Input):
    """The general switch, and the channels to change; a channel left out stays as it is. A portal
    with members keeps the general switch off."""

    enabled: StrictBool = Field(
        examples=[False], description="General switch for all automatic SMS, voice and e-mail."
    )
    sms: StrictBool | None = Field(None, examples=[False], description="Omitted: unchanged.")
    voice: StrictBool | None = Field(None, examples=[False], description="Omitted: unchanged.")
    email: StrictBool | None = Field(None, examples=[True], description="Omitted: unchanged.")


class CommunicationsPublic(Output):
    """An instance's automatic SMS, voice and e-mail: the general switch and each channel."""

    enabled: bool = Field(
        examples=[False], description="General switch for all automatic SMS, voice and e-mail."
    )
    sms: bool = Field(examples=[True])
    voice: bool = Field(examples=[True])
    email: bool = Field(examples=[True])

    @classmethod
    def build(cls, instance: Instance) -> CommunicationsPublic:
        return cls(
            enabled=instance.comms_enabled,
            sms=instance.comms_sms,
            voice=instance.comms_voice,
            email=instance.comms_email,
        )
