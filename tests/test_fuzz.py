"""Schemathesis against Portico as an operator runs it: `portico serve` on a PostgreSQL database of
its own, real HTTP on loopback, every check and every phase (examples, coverage, fuzzing, and the
stateful phase, which follows the spec's links), as `schemathesis.toml` at the project's root sets
them. The run must end without a failure.

Before the run the master key creates a partner and an API key with every scope, and that key a
portal with a member, services mapped between them, settings, GESDENT rules and a sync run: the
config's dictionaries name these rows, so that generated calls reach real data and not only 404s.
The server runs no scheduler (no sync worker: nothing leaves loopback) and allows private GESDENT
addresses (no host name is looked up).

By hand, against a Portico with such a partner (and its rows, for calls that reach data):

    PORTICO_TEST_MASTER_KEY=… PORTICO_TEST_API_KEY=… .venv/bin/st run http://127.0.0.1:8000/openapi.json
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import Scope
from tests.conftest import GESDENT_RULES, MASTER_KEY, SECRET_KEY, fresh_database
from tests.processes import clean_env, free_port, portico_command, running, wait_ready

ROOT = Path(__file__).resolve().parents[1]
RUN_SECONDS = 400  # a hard stop far above the run's two minutes on two cores: a hung request
PHASES = ("examples", "coverage", "fuzzing", "stateful")

# The seeded rows, as schemathesis.toml's dictionaries name them. Each deleting operation draws on
# rows of its own, so that it cannot take away what the operations run after it read.
PORTAL, MEMBER, STANDALONE = "tt_portal", "tt_member", "tt_standalone"
SPARE = "tt_spare"  # instances_delete
SPARE_PORTAL, SPARE_MEMBER = "tt_spare_portal", "tt_spare_member"  # portals_delete
LEAVING_PORTAL, LEAVING_MEMBER = "tt_leaving_portal", "tt_leaving_member"  # members_remove
PORTALS = [(PORTAL, MEMBER), (SPARE_PORTAL, SPARE_MEMBER), (LEAVING_PORTAL, LEAVING_MEMBER)]
PORTAL_SERVICE, MEMBER_SERVICE = "CLEAN", "LIMP"


def _ok(response: httpx.Response) -> dict[str, Any]:
    request = response.request
    assert response.status_code in (200, 201, 202), f"{request.method} {request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def seed(base_url: str) -> str:
    """A partner with an API key of every scope (returned), and the rows the dictionaries name."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {MASTER_KEY}"}) as admin:
        partner = _ok(admin.post("/v1/partners", json={"name": "schemathesis"}))
        body = {"name": "schemathesis", "scopes": [scope.value for scope in Scope]}
        key: str = _ok(admin.post(f"/v1/partners/{partner['id']}/api-keys", json=body))["key"]
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as api:
        for name in [STANDALONE, SPARE, *(name for pair in PORTALS for name in pair)]:
            _ok(api.post("/v1/instances", json={"name": name, "member_code": "M1"}))
        for portal, member in PORTALS:
            _ok(api.post("/v1/portals", json={"instance": portal}))
            _ok(api.post(f"/v1/portals/{portal}/members", json={"instance": member}))
            for instance, code in ((portal, PORTAL_SERVICE), (member, MEMBER_SERVICE)):
                service = {"code": code, "name": "Limpieza", "duration_minutes": 30, "web_enabled": True}
                _ok(api.post(f"/v1/instances/{instance}/services", json=service))
            mapping = {"member_service": MEMBER_SERVICE, "portal_service": PORTAL_SERVICE}
            _ok(api.post(f"/v1/portals/{portal}/members/{member}/mappings", json=mapping))
        for name in (STANDALONE, SPARE):
            _ok(api.put(f"/v1/instances/{name}/settings/color", json={"value": "blue"}))
            _ok(api.put(f"/v1/instances/{name}/gesdent", json=GESDENT_RULES))
            _ok(api.post(f"/v1/instances/{name}/sync-runs", json={}))
    return key


@pytest.fixture(scope="module")
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_database("postgres") as url:
        yield url


def _failures(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (failure["code"], operation) for failure in report["failures"] for operation in failure["operations"]
    }


def test_the_live_api_conforms_to_its_spec(postgres_url: str, tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = {"scheduler": "false", "gesdent_allow_private_networks": "true", "log_level": "warning"}
    # Schemathesis sends as fast as the server answers, and sends bad keys on purpose: never throttled.
    settings |= {"rate_limit": "1000000/second", "auth_failure_limit": "1000000/minute"}
    env = clean_env(
        database_url=postgres_url, master_key=MASTER_KEY, secret_keys=SECRET_KEY, port=str(port), **settings
    )
    report_path = tmp_path / "report.json"
    serve = portico_command("serve")
    with running(
        "portico serve", serve, tmp_path / "serve.log", env=env, cwd=tmp_path, stop_seconds=20
    ) as server:
        wait_ready(f"{base_url}/readyz", server, 30)
        api_key = seed(base_url)
        keys = {"PORTICO_TEST_MASTER_KEY": MASTER_KEY, "PORTICO_TEST_API_KEY": api_key, "NO_COLOR": "1"}
        keys["SCHEMATHESIS_HOOKS"] = "tests.schemathesis_hooks"  # a new Idempotency-Key per request
        command = [sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/openapi.json"]
        run = subprocess.run(
            [*command, "--report=json", f"--report-json-path={report_path}"],
            cwd=ROOT,  # where schemathesis.toml is
            env=clean_env() | keys,
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS,
            check=False,  # the report says what failed
        )
        # The run must not have revoked the key it tests with: every later call would have been a 401.
        still_valid = httpx.get(f"{base_url}/v1/instances", headers={"Authorization": f"Bearer {api_key}"})
        log = server.output()
    output = f"{run.stdout}\n{run.stderr}\n\nportico serve:\n{log}"
    assert report_path.exists(), output
    report = json.loads(report_path.read_text())
    assert not report["errors"], output
    failures = _failures(report)
    assert not failures, "\n".join(" ".join(failure) for failure in sorted(failures)) + "\n\n" + output
    assert run.returncode == 0, output
    statuses = {phase: report["phases"][phase]["status"] for phase in PHASES}
    assert set(statuses.values()) <= {"success", "failure"}, statuses  # every phase ran
    assert report["operations"]["tested"] == report["operations"]["total"], report["operations"]
    assert still_valid.status_code == 200, still_valid.text
