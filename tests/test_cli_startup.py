"""A setting that cannot work stops `portico` at start-up with one line on stderr naming it, status 2,
and nothing started; a good one still serves. Real processes, as an operator runs them."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app.config import Settings
from app.keys import resolve_master_key
from tests.conftest import IN_CI, MASTER_KEY, POSTGRES_URL, SECRET_KEY, _postgres_reachable
from tests.processes import clean_env, free_port, portico_command, running, stop, wait_ready

PASSWORD = "hunter2-never-shown"


def _portico(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        portico_command(*args),
        env=clean_env(**settings),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,  # the test reads the exit status itself
    )


def _one_line(result: subprocess.CompletedProcess[str], setting: str) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].strip(), result.stderr
    assert lines[0].startswith(f"portico: {setting}"), lines[0]
    assert PASSWORD not in lines[0]
    return lines[0]


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another process is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_short_master_key(tmp_path):
    line = _one_line(_portico(tmp_path, "serve", master_key="short"), "PORTICO_MASTER_KEY")
    assert "at least 24 characters" in line
    assert not list(tmp_path.iterdir())


def test_invalid_secret_keys(tmp_path):
    result = _portico(tmp_path, "worker", secret_keys=f"{SECRET_KEY},not-a-fernet-key")
    assert "Fernet key" in _one_line(result, "PORTICO_SECRET_KEYS")


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_an_unknown_database_driver(tmp_path, command):
    result = _portico(tmp_path, command, database_url=f"mysql://portico:{PASSWORD}@db.example/portico")
    assert 'unknown database driver "mysql"' in _one_line(result, "PORTICO_DATABASE_URL")


async def test_a_postgresql_role_that_does_not_exist(tmp_path):
    reason = await _postgres_reachable(POSTGRES_URL)
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is unreachable at {POSTGRES_URL}: {reason}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL} ({reason})")
    url = make_url(POSTGRES_URL).set(username="portico_no_such_role", password=PASSWORD)
    settings = {
        "database_url": url.render_as_string(hide_password=False),
        "master_key": MASTER_KEY,
        "secret_keys": SECRET_KEY,
        "port": str(free_port()),
    }
    for command in ("serve", "migrate"):
        line = _one_line(_portico(tmp_path, command, **settings), "PORTICO_DATABASE_URL")
        assert 'role "portico_no_such_role" does not exist' in line
        assert "createuser portico_no_such_role" in line


@pytest.mark.parametrize("command", ["serve", "worker", "migrate", "rotate-secrets"])
def test_postgresql_on_a_closed_port(tmp_path, command):
    url = f"postgresql+asyncpg://portico:{PASSWORD}@127.0.0.1:{free_port()}/portico"
    settings = {"database_url": url, "master_key": MASTER_KEY, "secret_keys": SECRET_KEY}
    line = _one_line(_portico(tmp_path, command, port=str(free_port()), **settings), "PORTICO_DATABASE_URL")
    assert "connection refused" in line


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_a_sqlite_file_under_a_file(tmp_path, command):
    (tmp_path / "not-a-folder").write_text("")
    url = f"sqlite+aiosqlite:///{tmp_path}/not-a-folder/portico.db"
    result = _portico(tmp_path, command, database_url=url, port=str(free_port()))
    assert "cannot create the folder" in _one_line(result, "PORTICO_DATABASE_URL")


def test_a_port_in_use_starts_nothing(tmp_path, held_port):
    database = tmp_path / "portico.db"
    result = _portico(
        tmp_path,
        "serve",
        database_url=f"sqlite+aiosqlite:///{database}",
        port=str(held_port),
        scheduler_tick_seconds="0.1",
    )
    assert "already in use" in _one_line(result, "PORTICO_PORT")  # the only line: no ticker, no uvicorn
    assert not list(tmp_path.iterdir())  # not migrated (nor keys generated): the file would be there


def test_a_port_in_use_named_by_the_option(tmp_path, held_port):
    result = _portico(tmp_path, "serve", "--port", str(held_port))
    assert "already in use" in _one_line(result, "--port")


def test_a_good_configuration_serves_then_stops_on_sigterm(tmp_path):
    port = free_port()
    env = clean_env(database_url=f"sqlite+aiosqlite:///{tmp_path}/portico.db", port=str(port))
    log = tmp_path / "serve.log"
    with running(
        "portico serve", portico_command("serve"), log, env=env, cwd=tmp_path, stop_seconds=20
    ) as server:
        # A good configuration listens once it is ready: its first answer must be 200, no 503 waited past.
        wait_ready(f"http://127.0.0.1:{port}/readyz", server, 30, retry_unready=False)
        stop(server, seconds=20, check=True)
    assert server.popen.returncode == 0, server.output()
    assert (tmp_path / "portico.db").exists()


def test_show_master_key_prints_the_key_and_nothing_else(tmp_path):
    sqlite = {"database_url": f"sqlite+aiosqlite:///{tmp_path}/portico.db"}
    line = _one_line(_portico(tmp_path, "show-master-key", **sqlite), "no master key yet")
    assert f"{tmp_path}/portico.db.master.key does not exist" in line
    assert not list(tmp_path.iterdir())  # it generates nothing
    key = resolve_master_key(Settings(database_url=sqlite["database_url"]))  # as the first `portico serve`
    shown = _portico(tmp_path, "show-master-key", **sqlite)
    assert (shown.returncode, shown.stdout, shown.stderr) == (0, f"{key}\n", "")

    postgres = {"database_url": "postgresql+asyncpg://portico@127.0.0.1/portico"}
    shown = _portico(tmp_path, "show-master-key", master_key=MASTER_KEY, **postgres)
    assert (shown.returncode, shown.stdout) == (0, f"{MASTER_KEY}\n")
    assert "PORTICO_MASTER_KEY is unset" in _one_line(
        _portico(tmp_path, "show-master-key", **postgres), "no master key"
    )
