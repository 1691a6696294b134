"""Settings from the environment (`PORTICO_*`)."""

from __future__ import annotations

import os
import secrets
import sys
from functools import cached_property
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.crypto import new_key
from app.domain import gesdent as gesdent_rules

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./portico.db"
DATABASE_URL_FORMS = (
    "sqlite+aiosqlite:///path/to/portico.db or postgresql+asyncpg://user:password@host:port/db"
)
NEW_MASTER_KEY = "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
NEW_SECRET_KEY = (
    "generate one with: "
    "python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
)
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


class Settings(BaseSettings):
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
    scheduler: bool = Field(True, description="Run the sync ticker and workers in this process.")
    scheduler_tick_seconds: float = Field(30, gt=0, description="How often due runs are enqueued.")
    sync_workers: int = Field(1, ge=0, le=16, description="Concurrent sync runs in this process.")
    sync_lease_seconds: float = Field(
        60, gt=0, description="A run whose worker is silent this long is taken over."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    max_body_bytes: int = Field(1_048_576, description="Largest accepted JSON request body.")
    db_pool_size: int = 10

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
            from app.crypto import SecretBox

            try:
                SecretBox([key.strip() for key in value.split(",") if key.strip()])
            except ValueError as exc:
                raise ValueError(f"PORTICO_SECRET_KEYS: {str(exc).rstrip('.')}; {NEW_SECRET_KEY}") from None
        return value

    @field_validator("master_key")
    @classmethod
    def _strong_master_key(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 24:
            raise ValueError(f"PORTICO_MASTER_KEY must be at least 24 characters; {NEW_MASTER_KEY}")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.lower() not in LOG_LEVELS:  # uvicorn would fail on it with a KeyError
            raise ValueError(f"PORTICO_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        return value.lower()

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

    def resolve_secret_keys(self) -> list[str]:
        """The configured secret keys, or one stored beside the SQLite file (created once)."""
        if self.secret_keys:
            return [key.strip() for key in self.secret_keys.split(",") if key.strip()]
        if self.sqlite_path is None:
            raise ConfigError(
                f"PORTICO_SECRET_KEYS is required when the database is not a SQLite file; {NEW_SECRET_KEY}"
            )
        key_file = self.sqlite_path.with_name(self.sqlite_path.name + ".secret.key")
        return [_stored_secret("PORTICO_SECRET_KEYS", key_file, new_key(), "secret key")]

    def resolve_master_key(self) -> str:
        """The configured master key, or the one stored beside the SQLite file (created once)."""
        if self.master_key:
            return self.master_key
        if self.sqlite_path is None:
            raise ConfigError(
                f"PORTICO_MASTER_KEY is required when the database is not a SQLite file; {NEW_MASTER_KEY}"
            )
        key_file = self.sqlite_path.with_name(self.sqlite_path.name + ".master.key")
        fresh = "ptc_master_" + secrets.token_urlsafe(32)
        return _stored_secret("PORTICO_MASTER_KEY", key_file, fresh, "master key")


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


def _stored_secret(setting: str, path: Path, fresh: str, label: str) -> str:
    try:
        return load_or_create_secret(path, fresh, label)
    except OSError as exc:
        raise ConfigError(
            f"{setting}: cannot keep the generated {label} in {path.absolute()} ({exc.strerror or exc}); "
            f"set {setting} or make that folder writable"
        ) from exc


def load_or_create_secret(path: Path, fresh: str, label: str) -> str:
    """Read a secret from `path`, or write `fresh` there with mode 0600 and print it once."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it between our check and now
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(fresh + "\n")
    print(f"Portico generated a {label} (shown once, stored in {path}):\n  {fresh}", file=sys.stderr)
    return fresh
