"""The set-up step of `make` (the $(STAMP) rule, tools/bootstrap.py), for real: two makes started
together install once, a changed input installs again, and a venv left without pip is made again.

It runs the project's Makefile and bootstrap script on a tiny throwaway project, offline: the project's
in-tree build backend needs nothing from an index, and counts the installs pip builds. Beside it, a
tiny project in the place of each development tool the Makefile names (gesdent_sandbox/), installed
with it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

PYPROJECT = """\
[build-system]
requires = []
build-backend = "tinybackend"
backend-path = ["."]

[project]
name = "tinyproj"
version = "0.0.1"
"""
TOOL = "gesdent_sandbox"  # the Makefile's TOOLS

# A PEP 517/660 backend whose wheel is only metadata, so that pip installs it without any download.
BACKEND = """\
import base64, hashlib, os, zipfile

DIST = "tinyproj-0.0.1"


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "builds.log"), "a") as log:
        log.write("built\\n")
    files = {
        f"{DIST}.dist-info/METADATA": "Metadata-Version: 2.1\\nName: tinyproj\\nVersion: 0.0.1\\n"
        "Provides-Extra: dev\\n",
        f"{DIST}.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: tiny\\nRoot-Is-Purelib: true\\n"
        "Tag: py3-none-any\\n",
    }
    name = f"{DIST}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, text in files.items():
            data = text.encode()
            wheel.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
        record.append(f"{DIST}.dist-info/RECORD,,")
        wheel.writestr(f"{DIST}.dist-info/RECORD", "\\n".join(record) + "\\n")
    return name


build_editable = build_wheel
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the Makefile and bootstrap script, around a tiny project to install."""
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "tools" / "bootstrap.py", tmp_path / "tools" / "bootstrap.py")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "constraints.txt").write_text("")
    (tmp_path / "tinybackend.py").write_text(BACKEND)
    (tmp_path / TOOL).mkdir()
    (tmp_path / TOOL / "pyproject.toml").write_text(PYPROJECT.replace("tinyproj", "tinytool"))
    (tmp_path / TOOL / "tinybackend.py").write_text(BACKEND.replace("tinyproj", "tinytool"))
    return tmp_path


def _make(project: Path) -> subprocess.Popen[str]:
    skip = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV")  # when the suite itself runs under make
    env = {name: value for name, value in os.environ.items() if name not in skip}
    env = {name: value for name, value in env.items() if not name.startswith("PIP_")}
    env |= {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # offline: pip is already current
    return subprocess.Popen(
        ["make", f"PYTHON={sys.executable}", ".venv/.installed"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    return output


def _builds(project: Path) -> int:
    """How many times pip built the project at `project` (the main one, or a tool's)."""
    log = project / "builds.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_two_makes_at_once_install_once_and_a_changed_input_installs_again(project):
    first, second = _make(project), _make(project)
    outputs = [_finish(first), _finish(second)]
    assert sum(output.count("bootstrap: installing") for output in outputs) == 1, outputs
    assert any("waiting for it" in output for output in outputs), outputs  # the lock was contended
    assert _builds(project) == 1
    assert _builds(project / TOOL) == 1  # the tool, in the same install
    assert (project / ".venv" / ".installed").exists()
    assert (project / ".venv.lock").exists()

    assert "bootstrap" not in _finish(_make(project))  # the stamp is fresh: make runs nothing
    later = time.time() + 5
    os.utime(project / "constraints.txt", (later, later))
    assert "bootstrap: installing" in _finish(_make(project))
    assert _builds(project) == 2
    os.utime(project / TOOL / "pyproject.toml", (later + 5, later + 5))  # the tool's project is an input too
    assert "bootstrap: installing" in _finish(_make(project))
    assert _builds(project / TOOL) == 3


def test_a_venv_left_without_pip_is_made_again(project):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", project / ".venv"], check=True)
    assert "bootstrap: installing" in _finish(_make(project))
    assert _builds(project) == 1
    pip = subprocess.run([project / ".venv" / "bin" / "python", "-m", "pip", "--version"], check=False)
    assert pip.returncode == 0
