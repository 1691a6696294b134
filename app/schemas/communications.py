from __future__ import annotations

from pydantic import Field, StrictBool

from app.db.models import Instance
from app.schemas.common import Input, Output


class CommunicationsPut(Input):
    enabled: StrictBool = Field(
        examples=[False], description="General switch for all automatic SMS, voice and e-mail."
    )
    sms: StrictBool | None = Field(None, examples=[False], description="Omitted: unchanged.")
    voice: StrictBool | None = Field(None, examples=[False], description="Omitted: unchanged.")
    email: StrictBool | None = Field(None, examples=[True], description="Omitted: unchanged.")


class CommunicationsPublic(Output):
    enabled: bool
    sms: bool
    voice: bool
    email: bool

    @classmethod
    def build(cls, instance: Instance) -> CommunicationsPublic:
        return cls(
            enabled=instance.comms_enabled,
            sms=instance.comms_sms,
            voice=instance.comms_voice,
            email=instance.comms_email,
        )
