"""Every log line of a sync run says which run, instance and stream it is about."""

from __future__ import annotations

from app.domain.gesdent import STREAMS
from tests.conftest import create_instance
from tests.sync.test_end_to_end import rules_for, sync_now


async def test_a_runs_lines_carry_its_run_instance_and_stream(app, api, sandbox, log_lines):
    await create_instance(api, "tt_clinic")
    assert (await api.put("/v1/instances/tt_clinic/gesdent", json=rules_for(sandbox))).status_code == 201
    run = await sync_now(app, api, "tt_clinic")
    assert run["status"] == "succeeded", run
    lines = [line for line in log_lines() if line["logger"].startswith("portico.sync")]
    assert next(line["event"] for line in lines).endswith("started (attempt 1)")
    assert lines[-1]["event"].endswith(": succeeded")
    assert lines[-1]["outcome"] == "succeeded"
    assert {line["run_id"] for line in lines} == {run["id"]}
    assert {line["instance"] for line in lines} == {"tt_clinic"}
    assert len({line["instance_id"] for line in lines}) == 1
    streams = [line for line in lines if "stream" in line]
    assert [line["stream"] for line in streams] == list(STREAMS)
    assert all(line["counts"]["fetched"] >= 0 for line in streams)
    # Requests made after the run carry none of it.
    await api.get("/v1/instances/tt_clinic")
    after = [line for line in log_lines() if line["logger"] == "portico.requests"][-1]
    assert "run_id" not in after
    assert "stream" not in after
