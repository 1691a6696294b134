"""`portico plan` and `portico apply`, the real command against a real Portico on loopback, running
the command lines docs/manifests.md shows, on the manifest it shows."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import MASTER_KEY, SECRET_KEY
from tests.processes import clean_env, free_port, portico_command, running, wait_ready

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "manifests.md"
DOCS_URL = "http://127.0.0.1:8000"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)


def _command_lines() -> list[str]:
    """The `portico …` and `curl …` lines of the page's shell blocks, in order."""
    lines = [line.strip() for block in _blocks("bash") for line in block.splitlines()]
    return [line for line in lines if line.startswith(("portico ", "curl "))]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("manifest-cli")
    port = free_port()
    env = clean_env(
        database_url=f"sqlite+aiosqlite:///{folder}/portico.db",
        port=str(port),
        master_key=MASTER_KEY,
        secret_keys=SECRET_KEY,
        gesdent_allow_private_networks="true",
    )
    with running(
        "portico serve", portico_command("serve"), folder / "serve.log", env=env, stop_seconds=20
    ) as process:
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}/readyz", process, 30)
        yield url, folder


def _key(url: str) -> str:
    admin = {"Authorization": f"Bearer {MASTER_KEY}"}
    partner = httpx.post(f"{url}/v1/partners", json={"name": "chain"}, headers=admin).json()
    created = httpx.post(f"{url}/v1/partners/{partner['id']}/api-keys", json={"name": "cli"}, headers=admin)
    key: str = created.json()["key"]
    return key


def _run(line: str, url: str, cwd: Path, key: str) -> subprocess.CompletedProcess[str]:
    words = shlex.split(line.replace(DOCS_URL, url).replace("$PORTICO_API_KEY", key))
    redirect = None
    if ">" in words:
        at = words.index(">")
        words, redirect = words[:at], words[at + 1]
    if words[0] == "portico":
        words = portico_command(*words[1:])
    env = clean_env(api_key=key)
    result = subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    if redirect:
        (cwd / redirect).write_text(result.stdout)
    return result


def test_the_docs_commands_plan_apply_and_export(server):
    url, folder = server
    key = _key(url)
    (folder / "chain.yaml").write_text(_blocks("yaml")[0])
    expected = {"portico plan chain": 2, "portico apply": 2, "curl": 0, "portico plan exported": 0}
    outputs = []
    for line in _command_lines():
        result = _run(line, url, folder, key)
        want = next(code for prefix, code in expected.items() if line.startswith(prefix))
        assert result.returncode == want, (line, result.stdout, result.stderr)
        outputs.append(result.stdout)
    plan = outputs[0]
    assert "+ instance tt_chain_portal" in plan
    assert "Plan: " in plan
    assert "\x1b[" not in plan  # no colours when the output is not a terminal
    assert "s3cret" not in "".join(outputs)
    assert "Applied: " in outputs[1]


def test_an_invalid_manifest_and_a_missing_key_exit_1(server, tmp_path):
    url, _folder = server
    key = _key(url)
    (tmp_path / "bad.yaml").write_text("portal:\n  name: Not A Name\nsurprise: 1\n")
    result = _run(f"portico plan bad.yaml --url {url}", url, tmp_path, key)
    assert result.returncode == 1
    assert "portal.name" in result.stderr
    assert "surprise" in result.stderr
    (tmp_path / "list.yaml").write_text("- just a list\n")
    assert _run(f"portico plan list.yaml --url {url}", url, tmp_path, key).returncode == 1
    no_key = subprocess.run(
        portico_command("plan", "bad.yaml", "--url", url),
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert no_key.returncode == 1
    assert "PORTICO_API_KEY" in no_key.stderr
