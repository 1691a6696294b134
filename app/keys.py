"""The master key and the secret keys: configured (`PORTICO_MASTER_KEY`, `PORTICO_SECRET_KEYS`), or
generated on first start and kept in files beside the SQLite database (`portico.db.master.key`,
`portico.db.secret.key`, mode 0600). Without a SQLite file nothing is generated: they must be set.
A generated key is never printed, only where it is kept (stderr ends up in logs).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from app.config import NEW_MASTER_KEY, NEW_SECRET_KEY, ConfigError, Settings
from app.crypto import new_key

log = logging.getLogger("portico")

SHOW_MASTER_KEY = "portico show-master-key"


def resolve_secret_keys(settings: Settings) -> list[str]:
    """The configured secret keys, or one stored beside the SQLite file (created once)."""
    if settings.secret_keys:
        return [key.strip() for key in settings.secret_keys.split(",") if key.strip()]
    if settings.sqlite_path is None:
        raise ConfigError(
            f"PORTICO_SECRET_KEYS is required when the database is not a SQLite file; {NEW_SECRET_KEY}"
        )
    key_file = settings.sqlite_path_beside(".secret.key")
    return [_stored_secret("PORTICO_SECRET_KEYS", key_file, new_key(), "secret key")]


def resolve_master_key(settings: Settings) -> str:
    """The configured master key, or the one stored beside the SQLite file (created once)."""
    if settings.master_key:
        return settings.master_key
    if settings.sqlite_path is None:
        raise ConfigError(
            f"PORTICO_MASTER_KEY is required when the database is not a SQLite file; {NEW_MASTER_KEY}"
        )
    fresh = "ptc_master_" + secrets.token_urlsafe(32)
    hint = f"; show it with: {SHOW_MASTER_KEY}"
    return _stored_secret(
        "PORTICO_MASTER_KEY", settings.sqlite_path_beside(".master.key"), fresh, "master key", hint
    )


def stored_master_key(settings: Settings) -> str:
    """The master key, configured or stored beside the SQLite file; never a new one."""
    if settings.master_key:
        return settings.master_key
    if settings.sqlite_path is None:
        raise ConfigError(
            "no master key: PORTICO_MASTER_KEY is unset, and without a SQLite file no key is stored"
        )
    key_file = settings.sqlite_path_beside(".master.key")
    try:
        key = key_file.read_text().strip()
    except FileNotFoundError:
        key = ""
    except OSError as exc:
        raise ConfigError(
            f"no master key: cannot read {key_file.absolute()} ({exc.strerror or exc})"
        ) from exc
    if not key:
        raise ConfigError(
            f"no master key yet: PORTICO_MASTER_KEY is unset and {key_file.absolute()} does not exist; "
            "`portico serve` generates it on its first start"
        )
    return key


def _stored_secret(setting: str, path: Path, fresh: str, label: str, hint: str = "") -> str:
    try:
        return load_or_create_secret(path, fresh, label, hint)
    except OSError as exc:
        raise ConfigError(
            f"{setting}: cannot keep the generated {label} in {path.absolute()} ({exc.strerror or exc}); "
            f"set {setting} or make that folder writable"
        ) from exc


def load_or_create_secret(path: Path, fresh: str, label: str, hint: str = "") -> str:
    """Read a secret from `path`, or write `fresh` there with mode 0600 and say where (never the
    secret itself: stderr ends up in logs, a container's included)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it between our check and now
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(fresh + "\n")
    # A warning, so that it is seen before logging is configured too (Python then prints warnings).
    log.warning("Portico generated a %s and stored it in %s (mode 0600)%s", label, path.absolute(), hint)
    return fresh
