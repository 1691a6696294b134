"""A sync run, traced: its `sync.run` span links to the request that queued it, and its streams'
statements and GESDENT requests (to the loopback sandbox) nest beneath it."""

from opentelemetry.trace import SpanKind
from sqlalchemy import text

from app.sync.scheduler import SyncService
from app.sync.worker import Worker
from tests.conftest import Traced, create_instance
from tests.sync.sandbox_server import SandboxServer
from tests.sync.test_end_to_end import FAST, rules_for
from tests.test_tracing import ancestors, scoped, sql_spans

HTTPX_SCOPE = "opentelemetry.instrumentation.httpx"


async def test_a_run_links_to_its_request_and_holds_its_sql_and_http(
    traced: Traced, api, sandbox: SandboxServer
):
    await create_instance(api, "tt_run_traced")
    assert (await api.put("/v1/instances/tt_run_traced/gesdent", json=rules_for(sandbox))).status_code == 201
    traced.spans.clear()
    async with traced.client(api) as client:
        queued = await client.post("/v1/instances/tt_run_traced/sync-runs")
    assert queued.status_code == 202, queued.text
    run_id = queued.json()["id"]
    [request] = [s for s in traced.spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    async with traced.app.state.engine.connect() as connection:
        stored, instance_id = (
            await connection.execute(
                text("SELECT traceparent, instance_id FROM sync_runs WHERE id = :id"), {"id": run_id}
            )
        ).one()
    assert stored.startswith(f"00-{request.context.trace_id:032x}-{request.context.span_id:016x}-")

    traced.spans.clear()
    worker = Worker(
        traced.app.state.sessionmaker,
        traced.app.state.secret_box,
        owner="traced",
        client_options=FAST,
        allow_private_networks=True,
        tracer_provider=traced.provider,
    )
    assert await worker.run_once()
    spans = list(traced.spans.get_finished_spans())
    [run] = [s for s in spans if s.name == "sync.run"]
    assert run.parent is None
    assert run.context.trace_id != request.context.trace_id  # a trace of its own, linked
    assert [link.context.span_id for link in run.links] == [request.context.span_id]
    assert [link.context.trace_id for link in run.links] == [request.context.trace_id]
    assert run.attributes is not None
    assert run.attributes["portico.sync.run_id"] == run_id
    assert run.attributes["portico.sync.trigger"] == "manual"
    assert run.attributes["portico.instance"] == "tt_run_traced"
    assert run.attributes["portico.instance_id"] == instance_id
    assert run.attributes["portico.sync.status"] == "succeeded"

    streams = [s for s in spans if s.name == "sync.stream"]
    assert [s.attributes["portico.sync.stream"] for s in streams if s.attributes] == [
        "resources",
        "users",
        "reservations",
        "availability",
    ]
    assert all(s.parent is not None and s.parent.span_id == run.context.span_id for s in streams)

    calls = scoped(spans, HTTPX_SCOPE)
    assert calls
    port = sandbox.url.rstrip("/").rsplit(":", 1)[1]
    for call in calls:
        assert call.kind == SpanKind.CLIENT
        assert call.attributes is not None
        assert str(call.attributes.get("url.full", call.attributes.get("http.url"))).startswith(
            f"http://127.0.0.1:{port}/"
        )
        above = ancestors(call, spans)
        assert above[-1] == run
        assert any(s.name == "sync.stream" for s in above)
    written = [s for s in sql_spans(spans) if any(a.name == "sync.stream" for a in ancestors(s, spans))]
    assert written, "no statement of a stream was traced"
    assert all(s.context.trace_id == run.context.trace_id for s in sql_spans(spans))
    assert not [s for s in spans if s.parent is None and s is not run]  # the claim is not traced


async def test_a_tick_that_queues_runs_is_a_span_its_runs_link_to(
    traced: Traced, api, sandbox: SandboxServer
):
    await create_instance(api, "tt_tick_traced")
    assert (await api.put("/v1/instances/tt_tick_traced/gesdent", json=rules_for(sandbox))).status_code == 201
    service = SyncService(
        traced.app.state.sessionmaker, traced.app.state.secret_box, workers=0, tracer_provider=traced.provider
    )
    traced.spans.clear()
    await service.tick()
    [tick] = [s for s in traced.spans.get_finished_spans() if s.name == "sync.tick"]
    assert tick.attributes is not None
    assert tick.attributes["portico.sync.queued"] == 1
    assert not sql_spans(list(traced.spans.get_finished_spans()))  # a tick's statements are not traced
    async with traced.app.state.engine.connect() as connection:
        stored = (await connection.execute(text("SELECT traceparent FROM sync_runs"))).scalar_one()
    assert stored.startswith(f"00-{tick.context.trace_id:032x}-{tick.context.span_id:016x}-")

    traced.spans.clear()
    await service.tick()  # nothing due now: no span kept
    assert not traced.spans.get_finished_spans()

    worker = Worker(
        traced.app.state.sessionmaker,
        traced.app.state.secret_box,
        owner="traced",
        client_options=FAST,
        allow_private_networks=True,
        tracer_provider=traced.provider,
    )
    assert await worker.run_once()
    [run] = [s for s in traced.spans.get_finished_spans() if s.name == "sync.run"]
    assert [(link.context.trace_id, link.context.span_id) for link in run.links] == [
        (tick.context.trace_id, tick.context.span_id)
    ]
