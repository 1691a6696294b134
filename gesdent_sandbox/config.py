"""Sandbox configuration and the constants of the GESDENT contract it serves."""

from __future__ import annotations

import random
import re
import string
from datetime import date, timedelta, timezone
from typing import Literal, NamedTuple
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

REALM = "GESDENT"
RESOURCE_ID_RE = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)+$")
# Treatment codes carried by reservations and free slots; tests map member services onto these.
TREATMENT_CODES: tuple[str, ...] = ("LIMP", "REV", "ORT", "IMPL", "BLANQ", "EXO")
RESOURCE_KINDS: tuple[str, ...] = ("dentist", "hygienist", "chair", "other")
RESERVATION_STATUSES: tuple[str, ...] = ("booked", "cancelled", "attended", "no_show")

# Clinic-local time of reservations and slots. A fixed offset keeps the data deterministic (no DST).
LOCAL_OFFSET = "+01:00"
LOCAL_TZ = timezone(timedelta(hours=1))
# Default working day: 30-minute slots from 09:00 to 14:00 local, Monday to Friday (see clock.py).
SLOT_MINUTES = 30
HOURS_IN_A_DAY = 24

Algorithm = Literal["MD5", "SHA-256"]
# A credential family is what the contract pairs with one username:password.
CredentialFamily = Literal["users", "reservations", "availability"]
CREDENTIAL_FAMILIES: tuple[CredentialFamily, ...] = ("users", "reservations", "availability")
# An endpoint family is what faults and stats are keyed by. Resources use the Availability credentials.
Endpoint = Literal["users", "reservations", "availability", "resources"]
ENDPOINTS: tuple[Endpoint, ...] = ("users", "reservations", "availability", "resources")
CREDENTIAL_OF: dict[Endpoint, CredentialFamily] = {
    "users": "users",
    "reservations": "reservations",
    "availability": "availability",
    "resources": "availability",
}


class Credential(NamedTuple):
    username: str
    password: str

    def __str__(self) -> str:
        return f"{self.username}:{self.password}"


class SandboxConfig(BaseModel):
    """Everything that determines what a sandbox serves. Same config (and same `today`) → same data."""

    model_config = ConfigDict(frozen=True)

    seed: int = 1
    patients: int = Field(5000, ge=0)
    reservations: int = Field(20000, ge=0)
    resources: int = Field(2, ge=1, le=100)
    algorithm: Algorithm = "MD5"
    # The clinic's "today": reservations spread around it. None = the real current date.
    today: date | None = None
    # Path under which the contract endpoints live, e.g. "/gesdent/api/". The control API stays at /_sandbox/.
    path_prefix: str = "/"
    nonce_lifetime_seconds: float = Field(300.0, gt=0)
    # A nonce answered by one user is stale for every other (as some servers do); by default any
    # user may answer any nonce the server issued, each request with a count not sent before.
    nonce_per_user: bool = False
    # Reservations reach this many days after `today`; the past reaches as far back as the count needs.
    future_days: int = Field(60, ge=1)
    # The clinic's IANA zone (e.g. Europe/Madrid): local times carry the offset in force on each date,
    # summer time included. None = the fixed LOCAL_OFFSET.
    time_zone: str | None = None
    # Local opening and closing hours (0 to 24) and the days open, Monday first (5 = Monday to Friday,
    # 7 = every day): (0, 24) and 7 put slots on both sides of every change of the clocks.
    opening_hours: tuple[int, int] = (9, 14)
    open_days: int = Field(5, ge=1, le=7)
    # None = derived from the seed (see `credentials`).
    credential_overrides: dict[CredentialFamily, Credential] | None = None
    # The first resources take these IDs (e.g. the procedure's own); the others' derive from the seed.
    resource_id_overrides: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _overrides_fit(self) -> SandboxConfig:
        if len(self.resource_id_overrides) > self.resources:
            raise ValueError(f"{len(self.resource_id_overrides)} resource IDs for {self.resources} resources")
        for resource_id in self.resource_id_overrides:
            if not RESOURCE_ID_RE.match(resource_id):
                raise ValueError(
                    f"{resource_id!r} is not a resource ID (upper-case letters and digits in groups)"
                )
        return self

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise ValueError(f"{value!r} is not an IANA time zone name, e.g. Europe/Madrid")
        return value

    @field_validator("opening_hours")
    @classmethod
    def _hours_in_a_day(cls, value: tuple[int, int]) -> tuple[int, int]:
        opens, closes = value
        if not 0 <= opens < closes <= HOURS_IN_A_DAY:
            raise ValueError(f"opening hours {opens}-{closes}: expected 0 <= opening < closing <= 24")
        return value

    @field_validator("path_prefix")
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        stripped = value.strip("/")
        return f"/{stripped}/" if stripped else "/"

    @property
    def effective_today(self) -> date:
        return self.today or date.today()

    @property
    def credentials(self) -> dict[CredentialFamily, Credential]:
        derived = {family: _derived_credential(self.seed, family) for family in CREDENTIAL_FAMILIES}
        return {**derived, **(self.credential_overrides or {})}


def _derived_credential(seed: int, family: CredentialFamily) -> Credential:
    rng = random.Random(f"{seed}:credential:{family}")
    alphabet = string.ascii_letters + string.digits
    return Credential(f"digest-{family}", "".join(rng.choice(alphabet) for _ in range(20)))
