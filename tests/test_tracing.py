"""Tracing (app/tracing.py): a request's server span with its SQL statements beneath it, in one
trace; and, with no OTLP endpoint, nothing instrumented at all."""

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import SERVICE_NAME
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from sqlalchemy import text
from starlette.types import ASGIApp

from app import tracing
from app.config import Settings
from app.main import create_app
from tests.api.test_webhooks import _signed
from tests.conftest import MASTER_KEY, SECRET_KEY, Traced, configure_gesdent, create_instance

SQL_SCOPE = "opentelemetry.instrumentation.sqlalchemy.engine"


def ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[ReadableSpan]:
    """The spans above `span` in `spans`, its parent first."""
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    found = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        found.append(span)
    return found


def scoped(spans: list[ReadableSpan], scope: str) -> list[ReadableSpan]:
    """The spans that the instrumentation named `scope` made."""
    return [s for s in spans if s.instrumentation_scope is not None and s.instrumentation_scope.name == scope]


def sql_spans(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return scoped(spans, SQL_SCOPE)


def middlewares(app: FastAPI) -> Iterator[ASGIApp]:
    """The app's middleware stack, as Starlette builds it, outermost first."""
    layer: ASGIApp | None = app.build_middleware_stack()
    while layer is not None:
        yield layer
        layer = getattr(layer, "app", None)


async def test_a_request_is_one_trace_from_its_server_span_to_its_sql(traced: Traced, api):
    await create_instance(api, "tt_traced")
    traced.spans.clear()
    async with traced.client(api) as client:
        response = await client.get("/v1/instances/tt_traced")
    assert response.status_code == 200, response.text
    spans = list(traced.spans.get_finished_spans())
    [server] = [s for s in spans if s.kind == SpanKind.SERVER]
    assert server.parent is None
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/v1/instances/{name}"
    statements = sql_spans(spans)
    assert statements, [s.name for s in spans]  # the key's and the instance's reads, at least
    for statement in statements:
        assert statement.kind == SpanKind.CLIENT
        assert server in ancestors(statement, spans), statement.name
        assert statement.context.trace_id == server.context.trace_id


@pytest.mark.parametrize("trigger", ["manual", "webhook", "legacy"])
async def test_a_queued_run_keeps_the_traceparent_of_the_request_that_queued_it(traced: Traced, api, trigger):
    secret = await configure_gesdent(api, "tt_c")
    traced.spans.clear()
    async with traced.client(api) as client:
        if trigger == "manual":
            response = await client.post("/v1/instances/tt_c/sync-runs")
        elif trigger == "webhook":
            body = json.dumps({"type": "data.changed", "db_name": "tt_c"}).encode()
            response = await client.post("/v1/webhooks/gesdent", content=body, headers=_signed(secret, body))
        else:
            response = await client.get("/cron_importer_gesdent.php", params={"dbName": "tt_c"})
    assert response.status_code in (200, 202), response.text
    [server] = [s for s in traced.spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    async with traced.app.state.engine.connect() as connection:
        stored = (
            await connection.execute(
                text(
                    "SELECT traceparent FROM sync_runs JOIN instances ON instances.id = sync_runs.instance_id"
                    " WHERE instances.name = 'tt_c'"
                )
            )
        ).scalar_one()
    assert stored.startswith(f"00-{server.context.trace_id:032x}-{server.context.span_id:016x}-")


async def test_without_an_endpoint_nothing_is_instrumented(traced: Traced, database_url, monkeypatch):
    monkeypatch.delenv(tracing.ENDPOINT, raising=False)
    settings = Settings(
        database_url=database_url, master_key=MASTER_KEY, secret_keys=SECRET_KEY, scheduler=False
    )
    plain = create_app(settings)
    assert not any(isinstance(layer, OpenTelemetryMiddleware) for layer in middlewares(plain))
    # The same check sees the traced app's middleware, and its engine's statement listener.
    assert any(isinstance(layer, OpenTelemetryMiddleware) for layer in middlewares(traced.app))
    assert traced.app.state.engine.sync_engine.dispatch.before_cursor_execute
    async with plain.router.lifespan_context(plain):
        assert not plain.state.engine.sync_engine.dispatch.before_cursor_execute


def test_a_provider_only_when_an_endpoint_is_set():
    assert tracing.provider_from_env({}) is None
    assert tracing.provider_from_env({tracing.ENDPOINT: ""}) is None
    # Loopback, and no span is made: nothing is sent.
    provider = tracing.provider_from_env({tracing.ENDPOINT: "http://127.0.0.1:9"})
    assert provider is not None
    try:
        assert provider.resource.attributes[SERVICE_NAME] == "portico"
    finally:
        provider.shutdown()
    named = tracing.provider_from_env({tracing.ENDPOINT: "http://127.0.0.1:9", "OTEL_SERVICE_NAME": "p2"})
    assert named is not None
    try:
        assert named.resource.attributes[SERVICE_NAME] == "p2"
    finally:
        named.shutdown()


@pytest.mark.parametrize("traceparent", [None, "", "not-a-traceparent"])
def test_no_link_to_nothing(traceparent):
    assert tracing.link_to(traceparent) == []
    assert tracing.current_traceparent() is None  # no current span here
