"""What the SDK tests share: the committed spec, the Node.js tools of clients/ (installed there by
`make test` with `npm ci`, tools/npm_ci.py), and a way to run a generator or a linter and read all
it printed.

Node.js and npm come with the machine; where they are missing the TypeScript and Redocly tests skip
and say why, and with CI=true they fail instead (.ci/run installs them first)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi" / "openapi.json"
CLIENTS = ROOT / "clients"  # package.json, its lockfile, the generators' configurations, usage.ts
NODE_MODULES = CLIENTS / "node_modules"
NODE_STAMP = NODE_MODULES / ".installed"  # touched by tools/npm_ci.py after `npm ci`
TOOL_SECONDS = 120

# The tests talk to loopback only: tools that would report usage or look for updates are told not to.
QUIET = {
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "REDOCLY_SUPPRESS_NOTIFICATIONS": "true",
    "DO_NOT_TRACK": "1",
    "NO_UPDATE_NOTIFIER": "1",
    "NO_COLOR": "1",
    "FORCE_COLOR": "0",
}


@dataclass
class Ran:
    """A tool's run: its command, exit status, and what it printed."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Everything it printed, stdout then stderr."""
        return self.stdout + self.stderr

    def explain(self) -> str:
        return f"$ {' '.join(self.command)}\n(exit status {self.returncode})\n{self.output}"


def run(command: list[str], cwd: Path, *, path_first: Path | None = None) -> Ran:
    """Run `command` in `cwd` and keep its output; `path_first` goes in front of PATH."""
    env = {**os.environ, **QUIET}
    if path_first is not None:
        env["PATH"] = f"{path_first}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TOOL_SECONDS, check=False
    )
    return Ran(command, done.returncode, done.stdout, done.stderr)


def spec_with(folder: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the committed spec in `folder`, changed by `change`: a spec with a defect, to show
    that a check sees it."""
    spec: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))
    change(spec)
    path = folder / "openapi.json"
    path.write_text(json.dumps(spec, indent=2), encoding="utf-8")
    return path


@dataclass
class NodeTools:
    """The programs of clients/node_modules/.bin, at the versions of clients/package-lock.json."""

    bin: Path

    def run(self, tool: str, *args: str, cwd: Path) -> Ran:
        return run([str(self.bin / tool), *args], cwd)


@pytest.fixture(scope="session")
def node_tools() -> NodeTools:
    missing = [program for program in ("node", "npm") if shutil.which(program) is None]
    if missing:
        reason = (
            f"{' and '.join(missing)} not on the PATH: the TypeScript clients and the Redocly lint "
            "need Node.js (apt-get install nodejs npm)"
        )
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    inputs = [CLIENTS / "package.json", CLIENTS / "package-lock.json"]
    if not NODE_STAMP.exists() or any(path.stat().st_mtime > NODE_STAMP.stat().st_mtime for path in inputs):
        pytest.fail(
            "clients/node_modules is missing or older than clients/package-lock.json: run the tests "
            "with `make test`, which installs it (npm ci, tools/npm_ci.py)"
        )
    return NodeTools(NODE_MODULES / ".bin")
