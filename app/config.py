"""Settings from the environment (`PORTICO_*`), checked as they load. The keys generated when
PORTICO_MASTER_KEY or PORTICO_SECRET_KEYS is unset, and the files that keep them, are app/keys.py's."""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.config_bodies import BodySettings
from app.config_events import EventSettings
from app.config_idempotency import IdempotencySettings
from app.config_retention import RetentionSettings
from app.config_search import SearchCacheSettings
from app.config_zones import ZoneSettings
from app.crypto import SecretBox
from app.domain import gesdent as gesdent_rules
from app.log_settings import LogSettings
from app.metrics_settings import MetricsSettings
from app.rate_limit_settings import RateLimitSettings
from app.sync_settings import SyncSettings

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./portico.db"
DATABASE_URL_FORMS = (
    "sqlite+aiosqlite:///path/to/portico.db or postgresql+asyncpg://user:password@host:port/db"
)
MIN_MASTER_KEY_LENGTH = 24
NEW_MASTER_KEY = "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
NEW_SECRET_KEY = (
    "generate one with: "
    "python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
)
# nginx accepts 32 KiB of request line and headers (4 buffers of 8 KiB), Apache 100 header fields.
DEFAULT_MAX_HEADER_BYTES = 32 * 1024
DEFAULT_MAX_HEADERS = 100


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


# Their settings: app/log_settings.py, app/config_retention.py, app/metrics_settings.py,
# app/sync_settings.py, app/config_events.py, app/config_zones.py, app/config_idempotency.py,
# app/rate_limit_settings.py, app/config_bodies.py, app/config_search.py.
class Settings(
    LogSettings,
    RetentionSettings,
    MetricsSettings,
    SyncSettings,
    EventSettings,
    ZoneSettings,
    IdempotencySettings,
    RateLimitSettings,
    BodySettings,
    SearchCacheSettings,
):
    model_config = SettingsConfigDict(env_prefix="PORTICO_", extra="ignore")

    database_url: str = Field(DEFAULT_DATABASE_URL, description="SQLAlchemy async URL of the database.")
    master_key: str | None = Field(
        None,
        description="Operator key that administers partners and API keys. Generated beside the SQLite "
        "file on first start when unset.",
    )
    auto_migrate: bool = Field(True, description="Run Alembic upgrade at start-up.")
    secret_keys: str | None = Field(
        None,
        description="Comma-separated Fernet keys for secrets at rest; the first encrypts, all decrypt. "
        "Generated beside the SQLite file on first start when unset.",
    )
    gesdent_allow_private_networks: bool = Field(
        False, description="Let GESDENT base URLs point at loopback, link-local or private addresses."
    )
    gesdent_base_url: str | None = Field(
        None,
        description="GESDENT address for every instance whose connection rules name none (an instance's "
        "own base_url overrides it).",
    )
    gesdent_max_page_bytes: int = Field(
        16 * 2**20,
        ge=4096,
        description="Largest page of users or reservations a GESDENT server may answer, in bytes; a "
        "larger one fails the run.",
    )
    gesdent_max_availability_bytes: int = Field(
        32 * 2**20,
        ge=4096,
        description="Largest availability answer (one resource's window) from GESDENT, in bytes.",
    )
    gesdent_max_resource_bytes: int = Field(
        2**20, ge=4096, description="Largest resource answer from GESDENT, in bytes."
    )
    gesdent_request_seconds: float = Field(
        60,
        gt=0,
        description="Total time one GESDENT request may take, its whole answer read (then it is "
        "retried like a timeout).",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    max_header_bytes: int = Field(
        DEFAULT_MAX_HEADER_BYTES,
        ge=1024,
        description="Largest request line and headers, in bytes; a longer head gets a 431 and the "
        "connection is closed.",
    )
    max_headers: int = Field(
        DEFAULT_MAX_HEADERS, ge=1, description="Most headers in a request; more get a 431."
    )
    public_url: str | None = Field(
        None,
        description="Public base URL of the service, e.g. https://portico.example; Link headers are "
        "absolute on it when set, relative otherwise.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks of the proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are honoured (`*`: any); none when empty.",
    )
    cors_origins: str = Field(
        "", description="Comma-separated origins whose pages may call the API from browsers; none if empty."
    )
    db_pool_size: int = Field(
        30,
        ge=1,
        description="The most PostgreSQL connections one process holds: each opened when load first "
        "needs it, then kept.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:  # its message repeats the URL, password included
            raise ValueError(f"not a database URL; use {DATABASE_URL_FORMS}") from None
        if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError(f'unknown database driver "{url.drivername}"; use {DATABASE_URL_FORMS}')
        return value

    @model_validator(mode="after")
    def _usable_gesdent_base_url(self) -> Settings:
        """The deployment's GESDENT address obeys the rules of an instance's own base_url."""
        url = (self.gesdent_base_url or "").strip()
        if not url:  # an empty variable is no address
            self.gesdent_base_url = None
        else:
            problem = gesdent_rules.base_url_problem(url)
            if problem is None and not self.gesdent_allow_private_networks:
                problem = gesdent_rules.literal_address_problem(url)
                if problem:
                    problem += "; set PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS=true to allow it"
            if problem:
                raise ValueError(f"PORTICO_GESDENT_BASE_URL {problem}")
            self.gesdent_base_url = gesdent_rules.normalise_base_url(url)
        return self

    @field_validator("secret_keys")
    @classmethod
    def _valid_secret_keys(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                SecretBox([key.strip() for key in value.split(",") if key.strip()])
            except ValueError as exc:
                raise ValueError(f"PORTICO_SECRET_KEYS: {str(exc).rstrip('.')}; {NEW_SECRET_KEY}") from None
        return value

    @field_validator("master_key")
    @classmethod
    def _strong_master_key(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_MASTER_KEY_LENGTH:
            raise ValueError(
                f"PORTICO_MASTER_KEY must be at least {MIN_MASTER_KEY_LENGTH} characters; {NEW_MASTER_KEY}"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _usable_public_url(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:  # an empty variable is no address
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "PORTICO_PUBLIC_URL must be an http:// or https:// URL, e.g. https://portico.example"
            )
        if parts.username is not None or parts.query or parts.fragment:
            raise ValueError("PORTICO_PUBLIC_URL must have no credentials, query or fragment")
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"

    @field_validator("trusted_proxies")
    @classmethod
    def _known_proxies(cls, value: str) -> str:
        for item in _items(value):
            if item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(
                        f'PORTICO_TRUSTED_PROXIES: "{item}" is not an address or a network, '
                        "e.g. 10.0.0.5 or 10.0.0.0/8"
                    ) from None
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _items(self.trusted_proxies)

    @field_validator("cors_origins")
    @classmethod
    def _plain_origins(cls, value: str) -> str:
        """Origins as browsers send them in `Origin`, so that they can match: scheme://host[:port]."""
        for item in _items(value):
            if not _is_origin(item.lower()):
                raise ValueError(
                    f'PORTICO_CORS_ORIGINS: "{item}" is not scheme://host[:port], e.g. https://app.example'
                )
        return ",".join(item.lower() for item in _items(value))

    @property
    def cors_origin_list(self) -> list[str]:
        return _items(self.cors_origins)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @cached_property
    def sqlite_path(self) -> Path | None:
        """Path of the SQLite file, or None for PostgreSQL and in-memory SQLite."""
        if not self.is_sqlite:
            return None
        database = make_url(self.database_url).database
        if not database or database == ":memory:":
            return None
        return Path(database)

    def ensure_database_dir(self) -> None:
        """Create the folder of the SQLite file, so a fresh path just works."""
        if self.sqlite_path is not None:
            folder = self.sqlite_path.parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                blocked = isinstance(exc, FileExistsError | NotADirectoryError)
                reason = "a file is in the way" if blocked else exc.strerror or exc
                raise ConfigError(
                    f"PORTICO_DATABASE_URL: cannot create the folder {folder.absolute()} of the SQLite file "
                    f"({reason}); choose a path in a writable folder"
                ) from exc

    def sqlite_path_beside(self, suffix: str) -> Path:
        """A file beside the SQLite database, e.g. `portico.db.master.key` for ".master.key"."""
        assert self.sqlite_path is not None
        return self.sqlite_path.with_name(self.sqlite_path.name + suffix)


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _is_origin(value: str) -> bool:
    parts = urlsplit(value)
    try:
        port_ok = parts.port != 0
    except ValueError:  # a port that is not a number, or out of range
        return False
    plain = value == f"{parts.scheme}://{parts.netloc}" and "@" not in parts.netloc
    return parts.scheme in ("http", "https") and bool(parts.hostname) and plain and port_ok


def load_settings() -> Settings:
    """Settings from the environment; a ConfigError naming the variables when they are invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(describe_invalid_settings(exc)) from exc


def describe_invalid_settings(exc: ValidationError) -> str:
    """One line naming each PORTICO_* variable that failed validation, never its value."""
    prefix = str(Settings.model_config.get("env_prefix", "")).upper()
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        message = error["msg"].removeprefix("Value error, ")
        if error["loc"]:  # a field's own validator; a model validator names its variables itself
            name = f"{prefix}{error['loc'][0]}".upper()
            message = f"{name}: {message.removeprefix(name).lstrip(': ')}"
        problems.append(message)
    return "; ".join(problems)
