"""Tracing with OpenTelemetry: on when OTEL_EXPORTER_OTLP_ENDPOINT is set, off and free otherwise.

Nothing here touches OpenTelemetry's global tracer provider (which a process may set only once): the
provider is built here, or given by a test, and handed to each thing instrumented — the app
(`instrument_app`), its engine (`instrument_engine`), each GESDENT client (app/sync/requests.py) and
each sync run's spans (`run_tracer`, `span`). Without a provider none of these is instrumented: no
middleware, no event listener, no wrapper.

A run is queued by one request and executed later by a worker, in another trace: the run's row keeps
the W3C `traceparent` of the request that queued it (`current_traceparent`), and the worker's
`sync.run` span links to it (`link_to`)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.sqlalchemy.version import __version__ as sqlalchemy_instrumentation_version
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, Span, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue
from sqlalchemy.ext.asyncio import AsyncEngine

ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
DEFAULT_SERVICE = "portico"
_propagator = TraceContextTextMapPropagator()
# The tracer of the sync run under way in this task (set by the worker for the run): the importer's
# stream spans use it, and are nothing when it is None.
_run_tracer: ContextVar[Tracer | None] = ContextVar("portico_run_tracer", default=None)


def provider_from_env(environ: Mapping[str, str] | None = None) -> TracerProvider | None:
    """A provider exporting over OTLP/HTTP in batches when OTEL_EXPORTER_OTLP_ENDPOINT is set, else
    None. The exporter reads the endpoint and the other OTEL_EXPORTER_OTLP_* variables itself."""
    environ = os.environ if environ is None else environ
    if not environ.get(ENDPOINT):
        return None
    # Imported here: a process without an endpoint never loads the exporter (nor protobuf).
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

    service = environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def instrument_app(app: FastAPI, provider: TracerProvider | None) -> None:
    """A server span per request, as the outermost middleware; nothing without a provider."""
    if provider is not None:
        FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)


def instrument_engine(engine: AsyncEngine, provider: TracerProvider | None) -> None:
    """A client span per SQL statement on `engine`; nothing without a provider.

    SQLAlchemyInstrumentor is a process-wide singleton: its first `instrument()` also wraps every
    `create_engine` and `Engine.connect` of the process with that call's provider, and later calls
    do nothing. Each app (and each test) has an engine and a provider of its own, so the engine's
    listeners are attached directly, with EngineTracer, which is what `instrument(engine=…)` returns
    after its global wrapping."""
    if provider is None:
        return
    tracer = provider.get_tracer(EngineTracer.__module__, sqlalchemy_instrumentation_version)
    # The connection-usage metric EngineTracer also keeps: no metrics are exported, so a no-op one.
    connections = NoOpMeterProvider().get_meter("portico").create_up_down_counter("db.client.connections")
    EngineTracer(tracer, engine.sync_engine, connections)  # type: ignore[no-untyped-call]  # untyped upstream


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, or None when there is none (tracing off)."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def link_to(traceparent: str | None) -> list[Link]:
    """A link to the span `traceparent` names; none when it names none."""
    if not traceparent:
        return []
    context = trace.get_current_span(_propagator.extract({"traceparent": traceparent})).get_span_context()
    return [Link(context)] if context.is_valid else []


@contextmanager
def run_tracer(tracer: Tracer | None) -> Iterator[None]:
    """Make `tracer` the one `span` uses in this task, for the length of a sync run."""
    token = _run_tracer.set(tracer)
    try:
        yield
    finally:
        _run_tracer.reset(token)


@contextmanager
def span(name: str, attributes: Mapping[str, AttributeValue] | None = None) -> Iterator[Span | None]:
    """A child span of the current one, from the run's tracer; nothing outside a traced run."""
    tracer = _run_tracer.get()
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current
