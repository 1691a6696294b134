"""Runs with the connection rules as the procedure gives them: no base_url of their own (the
deployment's address), and errors that say which credential a request used and why it failed."""

from typing import Any

from tests.conftest import create_instance
from tests.sync.sandbox_server import SandboxServer
from tests.sync.test_end_to_end import rules_for, sync_now


def _procedure_rules(sandbox: SandboxServer) -> dict[str, Any]:
    """Resources as one pasted string, credentials as `user: password` with the space, no base_url."""
    rules = rules_for(sandbox)
    del rules["base_url"]
    rules["resource_ids"] = ",\n".join(sandbox.resource_ids)
    rules["credentials"] = {
        family: f"{credential.username}: {credential.password}"
        for family, credential in sandbox.credentials.items()
    }
    return rules


async def test_a_run_uses_the_deployment_address(app, api, sandbox):
    await create_instance(api, "tt_central")
    settings = app.state.settings
    settings.gesdent_base_url = sandbox.url
    try:
        configured = await api.put("/v1/instances/tt_central/gesdent", json=_procedure_rules(sandbox))
        assert configured.status_code == 201, configured.text
        assert configured.json()["base_url_source"] == "deployment"
        run = await sync_now(app, api, "tt_central", default_base_url=sandbox.url)
    finally:
        settings.gesdent_base_url = None
    assert run["status"] == "succeeded", run
    assert run["counts"]["resources"]["created"] == len(sandbox.resource_ids)


async def test_a_run_with_no_address_at_all_fails_saying_so(app, api, sandbox):
    """The API process knows an address, the worker's process does not: the run fails readably."""
    await create_instance(api, "tt_nowhere")
    settings = app.state.settings
    settings.gesdent_base_url = sandbox.url
    try:
        await api.put("/v1/instances/tt_nowhere/gesdent", json=_procedure_rules(sandbox))
        run = await sync_now(app, api, "tt_nowhere", default_base_url=None)
    finally:
        settings.gesdent_base_url = None
    assert run["status"] == "failed"
    assert "no GESDENT address" in run["error"]
    assert "PORTICO_GESDENT_BASE_URL" in run["error"]
    assert sandbox.control.stats()["total"]["requests"] == 0


async def test_a_rejected_resources_request_names_the_availability_credential(app, api, sandbox):
    await create_instance(api, "tt_res")
    await api.put("/v1/instances/tt_res/gesdent", json=rules_for(sandbox))
    sandbox.control.fault("wrong_credentials", endpoint="resources")
    run = await sync_now(app, api, "tt_res", default_base_url=None)
    assert run["status"] == "failed"
    error = run["error"]
    assert error.startswith("resources stream failed"), error
    assert "rejected the availability credentials" in error
    assert "resources endpoint (GET /resources/" in error
    assert "with the availability credential, which GESDENT asks for on resources" in error
    assert "Check the availability username and password" in error


async def test_a_rejected_password_with_spaces_around_it_says_so(app, api, sandbox):
    """The object form keeps spaces; when GESDENT then refuses the password, the error points at them."""
    await create_instance(api, "tt_spaces")
    rules = rules_for(sandbox)
    users = sandbox.credentials["users"]
    rules["credentials"]["users"] = {"username": users.username, "password": f" {users.password}"}
    await api.put("/v1/instances/tt_spaces/gesdent", json=rules)
    run = await sync_now(app, api, "tt_spaces", default_base_url=None)
    assert run["status"] == "failed"
    assert "users stream failed" in run["error"]
    assert "stored password starts or ends with whitespace" in run["error"]
    assert users.password not in run["error"]
