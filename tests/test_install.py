"""Portico as a regular install: its wheel, built from what the Dockerfile's first stage copies, holds
`app` with its templates and migrations and no GESDENT sandbox; installed in a fresh venv with its
pinned dependencies, `portico migrate` brings a new SQLite file to the head revision. And the
product and the sandbox share no code: neither imports the other.

The wheel and the venv are built with this machine's pip, its usual indexes and its cache."""

from __future__ import annotations

import ast
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from tests.processes import clean_env

ROOT = Path(__file__).resolve().parents[1]
# What the Dockerfile's build stage copies.
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "app", "alembic")
MIGRATIONS = "app/_migrations"
PIP_SECONDS = 240  # the dependencies come from pip's cache: about 10 s in all


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(word) for word in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=PIP_SECONDS,
        check=False,  # the test reads the exit status itself
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (
        f"{' '.join(map(str, command))} exited with {done.returncode}:\n"
        + (done.stdout + done.stderr)[-4000:]
    )
    return done.stdout


def _copy_sources(target: Path) -> Path:
    target.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(source, target / name)
    return target


def _shipped(tree: Path) -> set[str]:
    """What the wheel must hold of `tree`: app/ (code, templates, static files) and the migrations."""
    files = {
        path.relative_to(tree).as_posix()
        for path in (tree / "app").rglob("*")
        if path.is_file() and path.suffix in (".py", ".html", ".css", ".typed")
    }
    for path in (tree / "alembic").rglob("*"):
        if path.is_file() and path.suffix in (".py", ".mako"):
            files.add(f"{MIGRATIONS}/{path.relative_to(tree / 'alembic').as_posix()}")
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Portico's wheel, built as the Dockerfile's first stage builds it: from a copy of the sources."""
    folder = tmp_path_factory.mktemp("wheel")
    sources = _copy_sources(folder / "src")
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", folder, sources, cwd=folder)
    (built,) = folder.glob("portico-*.whl")
    return built


def test_the_wheel_holds_app_and_its_migrations_and_not_the_sandbox(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = {name for name in archive.namelist() if ".dist-info/" not in name}
        entry_points = next(
            archive.read(name).decode() for name in archive.namelist() if name.endswith("entry_points.txt")
        )
    assert {name.split("/")[0] for name in names} == {"app"}, sorted(names)  # no gesdent_sandbox, tests…
    missing = _shipped(ROOT) - names
    assert not missing, f"not in the wheel (a package missing from pyproject.toml?): {sorted(missing)}"
    assert f"{MIGRATIONS}/env.py" in names
    assert f"{MIGRATIONS}/script.py.mako" in names
    assert any(name.startswith("app/pages/templates/") for name in names)
    assert "gesdent-sandbox" not in entry_points, entry_points


def test_an_installed_portico_migrates_a_new_database(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    # This interpreter's pip installs into the new venv (quicker than giving the venv a pip of its own).
    _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
        wheel, "-c", ROOT / "constraints.txt",
        cwd=tmp_path,
    )  # fmt: skip
    # Out of the checkout (tmp_path is the working directory): what is found is what was installed.
    env = clean_env(database_url=f"sqlite+aiosqlite:///{tmp_path / 'portico.db'}")
    found = _run(
        python,
        "-c",
        "import importlib.util as u, app.db.migrate as m; "
        "print(u.find_spec('gesdent_sandbox')); print(m.migrations_directory()); "
        "print(u.find_spec('app').origin)",
        cwd=tmp_path,
        env=env,
    ).splitlines()
    site_packages = str(venv / "lib")
    assert found[0] == "None", "gesdent_sandbox is importable from the installed Portico"
    assert found[1].startswith(site_packages), found
    assert found[1].endswith(MIGRATIONS), found
    assert found[2].startswith(site_packages), found
    assert (Path(found[2]).parent / "pages" / "templates" / "base.html").is_file()

    assert "database at head" in _run(venv / "bin" / "portico", "migrate", cwd=tmp_path, env=env)
    with sqlite3.connect(tmp_path / "portico.db") as connection:
        versions = [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]
    assert versions == [ScriptDirectory(str(ROOT / "alembic")).get_current_head()]


def _imported(package: Path) -> set[str]:
    """The top-level names of every module that the package's files import."""
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_the_product_and_the_sandbox_share_no_code() -> None:
    """The sandbox is the other side of the wire: it tests the client, so it copies nothing from it."""
    assert "gesdent_sandbox" not in _imported(ROOT / "app")
    assert "app" not in _imported(ROOT / "gesdent_sandbox")
