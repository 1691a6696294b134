"""Real `portico` processes for the tests, as an operator starts them: the command line, a free
loopback port, a process whose output goes to a log file, waiting until it is ready, and stopping it
with SIGTERM (then SIGKILL).

Plain Python, no pytest: tests/readme_walkthrough.py also runs as a script. A failure raises
AssertionError with what the process wrote, so that pytest reports it as a failed check.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A loopback port that nobody listens on (until someone else takes it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def portico_command(*args: str) -> list[str]:
    """The command line of `portico ARGS`, run by this interpreter (no installed script needed)."""
    return [sys.executable, "-c", "from app.cli import main; main()", *args]


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without the developer's PORTICO_* settings, plus `settings`
    (`database_url=…` sets PORTICO_DATABASE_URL)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PORTICO_")}
    return env | {f"PORTICO_{name.upper()}": value for name, value in settings.items()}


@dataclass
class LoggedProcess:
    """A process whose stdout and stderr go to one log file."""

    name: str  # as failures name it, e.g. "portico serve"
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """What the process wrote so far (stdout and stderr)."""
        return self.log.read_text(encoding="utf-8", errors="replace")


def start(
    name: str, command: list[str], log: Path, *, env: dict[str, str], cwd: Path | None = None
) -> LoggedProcess:
    """Start `command`, its output going to `log` (created or emptied)."""
    # A file rather than a pipe: nobody reads a pipe while the tests run, and a full one blocks the process.
    with log.open("wb") as sink:
        popen = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT
        )
    return LoggedProcess(name, popen, log)


@contextmanager
def running(
    name: str,
    command: list[str],
    log: Path,
    *,
    env: dict[str, str],
    cwd: Path | None = None,
    stop_seconds: float,
) -> Iterator[LoggedProcess]:
    """`start`, and `stop` (without checking how it ends) when the block ends."""
    process = start(name, command, log, env=env, cwd=cwd)
    try:
        yield process
    finally:
        stop(process, seconds=stop_seconds)


@contextmanager
def replicas(count: int, folder: Path, *, env: dict[str, str], seconds: float = 30) -> Iterator[list[str]]:
    """The base URLs of `count` `portico serve` processes on loopback with one environment (one
    database: replicas), started one after the other, so that the first migrates a new database and
    the others find it migrated; each is ready when yielded, and all are stopped when the block ends."""
    with ExitStack() as stack:
        urls = []
        for index in range(count):
            port, name = free_port(), "abcdefgh"[index]
            command = portico_command("serve", "--host", "127.0.0.1", "--port", str(port))
            log = folder / f"{name}.log"
            process = stack.enter_context(
                running(f"portico serve {name}", command, log, env=env, stop_seconds=15)
            )
            wait_ready(f"http://127.0.0.1:{port}/readyz", process, seconds)
            urls.append(f"http://127.0.0.1:{port}")
        yield urls


def wait_ready(url: str, process: LoggedProcess, seconds: float, *, retry_unready: bool = True) -> None:
    """Return once a GET of `url` answers 200; fail with the process's output if the process exits
    first or `seconds` pass. Another status is waited past, or with `retry_unready=False` fails at
    once (a process that answers at all must be ready)."""
    deadline, last = time.monotonic() + seconds, "no answer"
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(
                f"{process.name} exited with {process.popen.returncode} before it was ready:\n"
                f"{process.output()}"
            )
        try:
            response = httpx.get(url, timeout=2)
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
            if not retry_unready:
                raise AssertionError(f"{process.name} answered {last}:\n{process.output()}")
        time.sleep(0.1)
    raise AssertionError(f"{process.name} not ready within {seconds} s ({last}):\n{process.output()}")


def stop(*processes: LoggedProcess, seconds: float, check: bool = False) -> None:
    """SIGTERM to every process still running, then SIGKILL to any that has not exited `seconds`
    later. With `check`, fail unless every one was running and exited on SIGTERM, with status 0 or
    by the SIGTERM itself."""
    exited_early = [process for process in processes if process.popen.poll() is not None]
    for process in processes:
        if process.popen.poll() is None:
            process.popen.send_signal(signal.SIGTERM)
    ignored = []
    for process in processes:
        try:
            process.popen.wait(seconds)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait()
            ignored.append(process)
    if not check:
        return
    for process in processes:
        if process in ignored:
            raise AssertionError(f"{process.name} ignored SIGTERM for {seconds} s:\n{process.output()}")
        # uvicorn exits with 0, or re-raises the SIGTERM it handled once it has shut down.
        if process in exited_early or process.popen.returncode not in (0, -signal.SIGTERM):
            raise AssertionError(
                f"{process.name} exited with {process.popen.returncode}:\n{process.output()}"
            )
