"""Settings from the environment (`PORTICO_*`)."""

from __future__ import annotations

import os
import secrets
import sys
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from app.crypto import new_key

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./portico.db"


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
        url = make_url(value)
        if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError("use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db")
        return value

    @field_validator("secret_keys")
    @classmethod
    def _valid_secret_keys(cls, value: str | None) -> str | None:
        if value is not None:
            from app.crypto import SecretBox

            try:
                SecretBox([key.strip() for key in value.split(",") if key.strip()])
            except ValueError as exc:
                raise ValueError(f"PORTICO_SECRET_KEYS: {exc}") from None
        return value

    @field_validator("master_key")
    @classmethod
    def _strong_master_key(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 24:
            raise ValueError("PORTICO_MASTER_KEY must be at least 24 characters")
        return value

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
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)

    def resolve_secret_keys(self) -> list[str]:
        """The configured secret keys, or one stored beside the SQLite file (created once)."""
        if self.secret_keys:
            return [key.strip() for key in self.secret_keys.split(",") if key.strip()]
        if self.sqlite_path is None:
            raise ConfigError(
                "PORTICO_SECRET_KEYS is required when the database is not a SQLite file; generate one with: "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
        key_file = self.sqlite_path.with_name(self.sqlite_path.name + ".secret.key")
        return [load_or_create_secret(key_file, new_key(), "secret key")]

    def resolve_master_key(self) -> str:
        """The configured master key, or the one stored beside the SQLite file (created once)."""
        if self.master_key:
            return self.master_key
        if self.sqlite_path is None:
            raise ConfigError(
                "PORTICO_MASTER_KEY is required when the database is not a SQLite file; "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        key_file = self.sqlite_path.with_name(self.sqlite_path.name + ".master.key")
        return load_or_create_secret(key_file, "ptc_master_" + secrets.token_urlsafe(32), "master key")


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
