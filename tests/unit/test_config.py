import os
import stat

import pytest

from app.config import ConfigError, Settings, load_settings
from app.keys import resolve_master_key


def test_sqlite_folder_and_master_key_are_created_once_and_never_printed(tmp_path, caplog):
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/new/dir/portico.db")
    settings.ensure_database_dir()
    assert (tmp_path / "new" / "dir").is_dir()
    key = resolve_master_key(settings)
    key_file = tmp_path / "new" / "dir" / "portico.db.master.key"
    assert key_file.read_text().strip() == key
    assert len(key) >= 32
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    said = caplog.text  # a log line (stderr, as JSON under `portico serve`)
    assert key not in said  # stderr ends up in logs: only where the key is, and how to show it
    assert f"{key_file} (mode 0600); show it with: portico show-master-key" in said
    caplog.clear()
    assert resolve_master_key(settings) == key
    assert caplog.text == ""  # said once


def test_postgres_needs_an_explicit_master_key():
    with pytest.raises(ConfigError, match="PORTICO_MASTER_KEY"):
        resolve_master_key(Settings(database_url="postgresql+asyncpg://u@h/db"))


def test_unsafe_settings_are_refused():
    with pytest.raises(ValueError, match='unknown database driver "mysql"'):
        Settings(database_url="mysql://u@h/db")
    with pytest.raises(ValueError, match="PORTICO_MASTER_KEY must be at least 24 characters"):
        Settings(master_key="short")


def test_the_deployment_gesdent_address_obeys_the_rules_of_a_base_url():
    assert (
        Settings(gesdent_base_url=" https://gesdent.example/api ").gesdent_base_url
        == "https://gesdent.example/api/"
    )
    assert Settings(gesdent_base_url="").gesdent_base_url is None  # an empty variable is no address
    for url, why in [
        ("ftp://gesdent.example/", "http:// or https://"),
        ("https://user:pw@gesdent.example/", "must not carry credentials"),
        ("https://gesdent.example/?db=1", "query"),
        ("http://127.0.0.1:8900/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://169.254.169.254/", "link-local"),
    ]:
        with pytest.raises(ValueError, match=why):
            Settings(gesdent_base_url=url)
    allowed = Settings(gesdent_base_url="http://127.0.0.1:8900", gesdent_allow_private_networks=True)
    assert allowed.gesdent_base_url == "http://127.0.0.1:8900/"


@pytest.mark.parametrize(
    "url", ["http://100.100.100.200/", "http://192.0.0.192/", "http://[2002:a9fe:a9fe::]/"]
)
def test_the_deployment_base_url_obeys_the_same_rule(url: str) -> None:
    with pytest.raises(ValueError, match="PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS"):
        Settings(gesdent_base_url=url)
    assert Settings(gesdent_base_url=url, gesdent_allow_private_networks=True).gesdent_base_url == url


def test_the_default_time_zone_is_an_iana_name_checked_at_start_up(monkeypatch):
    assert Settings().default_timezone == "Europe/Madrid"
    assert Settings(default_timezone="Atlantic/Canary").default_timezone == "Atlantic/Canary"
    monkeypatch.setenv("PORTICO_DEFAULT_TIMEZONE", "europe/madrid")
    with pytest.raises(
        ConfigError,
        match="PORTICO_DEFAULT_TIMEZONE: 'europe/madrid' is not an IANA time "
        "zone name; did you mean 'Europe/Madrid'",
    ):
        load_settings()
