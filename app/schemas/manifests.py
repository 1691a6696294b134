"""The portal manifest: a whole portal and its members as one document (YAML or JSON), the input of
plan and apply. What a manifest leaves out is left alone; what it lists is made so; deletes happen
only with `prune: true`."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, StrictInt, model_validator

from app.domain.gesdent import RESOURCE_ID_RE
from app.domain.gesdent_patterns import BASE_URL_PATTERN, RESOURCE_ID_ITEM_PATTERN
from app.schemas.common import Declared, DisplayName, Input, InstanceName, MemberCode, SingleLine, WholeNumber
from app.schemas.communications import CommunicationsPut
from app.schemas.services import ServiceCode, ServiceCreate
from app.schemas.settings import SettingKey

MAX_MEMBERS = 2_000
MAX_SERVICES = 2_000
AS_MODEL = "as_model"
SecretName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,100}$", examples=["clinics_users"])]
Settings = Annotated[
    dict[SettingKey, Annotated[str, Field(max_length=2000)]],
    Field(max_length=200, examples=[{"timezone": "Europe/Madrid"}]),
]
Services = Annotated[list[ServiceCreate], Field(max_length=MAX_SERVICES)]


def _unique_codes(services: list[ServiceCreate] | None, where: str) -> None:
    codes = [s.code for s in services or []]
    repeated = sorted({c for c in codes if codes.count(c) > 1}) if len(set(codes)) < len(codes) else []
    if repeated:
        raise ValueError(f"{where}: service code(s) listed more than once: {', '.join(repeated)}")


class ManifestCommunications(CommunicationsPut):
    """The portal's automatic SMS, voice and e-mail. A portal takes members only with the general
    switch off, which is also what a portal gets when the manifest leaves this out."""

    enabled: StrictBool = Field(False, examples=[False], description="Off unless said otherwise.")


class ManifestPortal(Input):
    """The portal instance: created and promoted (portalInstanceName=portal, communications off) when
    it does not exist yet."""

    name: InstanceName
    display_name: DisplayName | None = Field(
        None, description="Omitted: left as it is (the name at creation).", examples=["Chain portal"]
    )
    settings: Settings | None = Field(
        None,
        description="Settings to hold (portalInstanceName is implied); omitted: left alone.",
        examples=[{"timezone": "Europe/Madrid"}],
    )
    communications: ManifestCommunications | None = None
    services: Services | None = Field(
        None,
        description="The portal services; omitted: left alone.",
        examples=[
            [
                {
                    "code": "LIMP",
                    "name": "Limpieza dental",
                    "duration_minutes": 30,
                    "price": "45.00",
                    "web_enabled": True,
                }
            ]
        ],
    )

    @model_validator(mode="after")
    def _check(self) -> ManifestPortal:
        _unique_codes(self.services, "portal.services")
        return self


class ManifestCredential(Input):
    """One HTTP Digest credential. The password is never in the manifest: `password_secret` names an
    entry of the manifest's `secrets`; without it the stored password is kept."""

    username: Annotated[SingleLine, Field(min_length=1, max_length=200)] = Field(examples=["digest"])
    password_secret: SecretName | None = Field(
        None, description="Omitted: keep the stored password.", examples=["chain"]
    )


class ManifestCredentials(Input):
    """One credential per endpoint family, as in the GESDENT rules."""

    users: ManifestCredential = Field(examples=[{"username": "digest", "password_secret": "chain"}])
    reservations: ManifestCredential = Field(examples=[{"username": "digest", "password_secret": "chain"}])
    availability: ManifestCredential = Field(examples=[{"username": "digest", "password_secret": "chain"}])


_BASE_URL = re.compile(BASE_URL_PATTERN)


def _base_url(value: str) -> str:
    """The form the schema's pattern declares, checked here too (where the server is, and whether it
    may be reached, the rules' own checks say when planned)."""
    if not _BASE_URL.match(value):
        raise ValueError("an http(s) URL of the GESDENT server, e.g. https://gesdent.clinica.example/api/")
    return value


def _resource_id(value: str) -> str:
    """What the schema's pattern declares, checked (case and surrounding blanks forgiven, as the rules'
    route does): a schema-valid manifest is never refused for its form afterwards."""
    if not RESOURCE_ID_RE.match(value.strip().upper()):
        raise ValueError(f"{value!r} is not a GESDENT resource ID (e.g. EJEJQKV5-ETREAXNR)")
    return value


class ManifestGesdent(Input):
    """A member's GESDENT connection rules, without passwords (see `secrets`)."""

    base_url: (
        Annotated[
            SingleLine,
            Field(min_length=1, max_length=500),
            Declared(BASE_URL_PATTERN),
            AfterValidator(_base_url),
        ]
        | None
    ) = Field(
        None,
        description="Omitted or null: the deployment's PORTICO_GESDENT_BASE_URL.",
        examples=["https://gesdent.clinica.example/api/"],
    )
    resource_ids: Annotated[
        list[
            Annotated[
                str, Field(max_length=100), Declared(RESOURCE_ID_ITEM_PATTERN), AfterValidator(_resource_id)
            ]
        ],
        Field(min_length=1, max_length=50, examples=[["EJEJQKV5-ETREAXNR"]]),
    ]
    credentials: ManifestCredentials = Field(
        examples=[
            {
                "users": {"username": "digest", "password_secret": "chain"},
                "reservations": {"username": "digest", "password_secret": "chain"},
                "availability": {"username": "digest", "password_secret": "chain"},
            }
        ]
    )
    enabled: StrictBool = Field(True, examples=[True])
    interval_minutes: Annotated[StrictInt, Field(ge=1, le=1440), WholeNumber] = Field(15, examples=[15])
    window_days: Annotated[StrictInt, Field(ge=1, le=180), WholeNumber] = Field(14, examples=[14])
    stale_after_minutes: Annotated[StrictInt, Field(ge=1, le=43200), WholeNumber] | None = Field(
        None, examples=[45]
    )


class ManifestMember(Input):
    """A member clinic of the portal."""

    name: InstanceName
    display_name: DisplayName | None = Field(
        None, description="Omitted: left as it is (the name at creation).", examples=["Clinic North"]
    )
    member_code: MemberCode | None = Field(None, description="Omitted: left as it is.", examples=["N01"])
    model: InstanceName | None = Field(
        None,
        description="An instance of yours the member is cloned from at creation (`cloned_from`), and "
        "whose services `services: as_model` means.",
        examples=["tt_clinic_model"],
    )
    settings: Settings | None = Field(
        None, description="Settings to hold; omitted: left alone.", examples=[{"colour": "blue"}]
    )
    services: Services | Literal["as_model"] | None = Field(
        None,
        description="The member's services, or `as_model`: the model's; omitted: left alone.",
        examples=["as_model"],
    )
    web: dict[ServiceCode, StrictBool] | None = Field(
        None,
        max_length=MAX_SERVICES,
        description="Online booking per service code, over `services`.",
        examples=[{"BLANQ": False}],
    )
    mappings: dict[ServiceCode, ServiceCode] | None = Field(
        None,
        max_length=MAX_SERVICES,
        description="Member service code → portal service code; omitted: left alone.",
        examples=[{"LIMP": "LIMPIEZA"}],
    )
    gesdent: ManifestGesdent | None = Field(
        None,
        description="Omitted: left alone.",
        examples=[
            {
                "base_url": "https://gesdent.clinica.example/api/",
                "resource_ids": ["EJEJQKV5-ETREAXNR"],
                "credentials": {
                    "users": {"username": "digest", "password_secret": "chain"},
                    "reservations": {"username": "digest", "password_secret": "chain"},
                    "availability": {"username": "digest", "password_secret": "chain"},
                },
            }
        ],
    )

    @model_validator(mode="after")
    def _check(self) -> ManifestMember:
        if self.services == AS_MODEL and self.model is None:
            raise ValueError(f"{self.name}: services 'as_model' needs a model")
        _unique_codes(None if isinstance(self.services, str) else self.services, f"{self.name}.services")
        return self


class PortalManifest(Input):
    """A portal and its members, as they should be. Passwords go in `secrets`, which no answer, plan,
    export or log ever shows."""

    portico_manifest: Literal[1] = Field(1, description="The version of this format.")
    portal: ManifestPortal = Field(examples=[{"name": "tt_portal_sanitas", "display_name": "Sanitas"}])
    members: Annotated[list[ManifestMember], Field(max_length=MAX_MEMBERS)] = Field(
        [], examples=[[{"name": "tt_clinic_north", "member_code": "N01", "mappings": {"LIMP": "LIMPIEZA"}}]]
    )
    prune: StrictBool = Field(
        False,
        description="Also delete what the manifest manages but does not list: members (detached, with "
        "their mappings), settings, services and mappings.",
        examples=[False],
    )
    secrets: dict[SecretName, Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        {},
        description="Passwords by the name `password_secret` gives them; write-only.",
        examples=[{"chain": "wOPn7rKd2"}],
    )

    @model_validator(mode="after")
    def _check(self) -> PortalManifest:
        names = [m.name for m in self.members]
        repeated = sorted({n for n in names if names.count(n) > 1}) if len(set(names)) < len(names) else []
        if repeated:
            raise ValueError(f"members listed more than once: {', '.join(repeated)}")
        return self


class ManifestApply(Input):
    """A manifest, and the fingerprint of the plan that was reviewed."""

    fingerprint: Annotated[
        str, Field(min_length=1, max_length=100, examples=['"5d41402abc4b2a76b9719d911017c592"'])
    ]
    manifest: PortalManifest = Field(examples=[{"portal": {"name": "tt_portal_sanitas"}, "members": []}])
