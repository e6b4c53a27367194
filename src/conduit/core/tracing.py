"""OpenTelemetry tracing: the tracer provider, its exporter, and spans for SQL statements.

Only ``create_app`` imports this module, and only when ``CONDUIT_OTEL_ENABLED`` is true: with
tracing off the process loads no tracing SDK, exporter or instrumentation, and the request path
has no span machinery. Request spans are FastAPI's own (see ``conduit.main._telemetry``).

Each app gets a provider of its own (``app.state.tracer_provider``) instead of the process-wide
one, which can be set only once per process: tests build apps with tracing on and off side by
side, and nothing else in the process traces.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from importlib.metadata import PackageNotFoundError, version

import anyio.to_thread
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.sqlalchemy.version import (
    __version__ as sqlalchemy_instrumentation,
)
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.semconv.attributes.deployment_attributes import DEPLOYMENT_ENVIRONMENT_NAME
from opentelemetry.semconv.attributes.service_attributes import SERVICE_NAME, SERVICE_VERSION
from opentelemetry.trace import Span, SpanKind, Tracer
from sqlalchemy.ext.asyncio import AsyncEngine

from conduit.core.settings import Settings
from conduit.repositories._rows import trace_statements

DEFAULT_SERVICE_NAME = "conduit"
_TRACES_PATH = "/v1/traces"


def build_tracer_provider(settings: Settings) -> TracerProvider:
    """A provider sampling by ``CONDUIT_OTEL_SAMPLE_RATIO`` (callers' decisions followed),
    exporting in batches from a background thread to the configured exporter."""
    resource = Resource.create(
        {
            SERVICE_NAME: service_name(settings),
            SERVICE_VERSION: _conduit_version(),
            DEPLOYMENT_ENVIRONMENT_NAME: settings.environment,
        }
    )
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio))
    )
    exporter = _exporter(settings)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def service_name(settings: Settings) -> str:
    return settings.otel_service_name or os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME


def traces_endpoint(base: str | None) -> str | None:
    """The OTLP/HTTP traces URL for a collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT
    reads; None leaves the choice to the exporter (the standard variables, else localhost)."""
    if base is None:
        return None
    base = base.rstrip("/")
    return base if base.endswith(_TRACES_PATH) else base + _TRACES_PATH


def _exporter(settings: Settings) -> SpanExporter | None:
    if settings.otel_exporter == "none":
        return None
    if settings.otel_exporter == "console":
        return ConsoleSpanExporter()
    # Imported here: the protobuf and HTTP machinery is the heaviest part, and only OTLP needs it.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=traces_endpoint(settings.otel_exporter_otlp_endpoint))


def trace_engine(engine: AsyncEngine, provider: TracerProvider) -> None:
    """A client span, child of the request's, for every statement the engine sends.

    The listeners sit on the sync engine under the async one, at cursor level, so statements
    run through the ORM, Core and ``exec_driver_sql`` alike are seen. A span holds the
    statement as sent, with its placeholders (``$1``, ``?``), never the bound values.

    SQLAlchemyInstrumentor itself would patch ``create_engine`` process-wide and use the global
    provider; its per-engine tracer, given this app's provider, is the part that fits an app
    factory. Its connection-pool metric goes to a no-op meter: Prometheus already has the pool.
    """
    tracer = provider.get_tracer(
        "opentelemetry.instrumentation.sqlalchemy", sqlalchemy_instrumentation
    )
    pool_usage = (
        NoOpMeterProvider()
        .get_meter("conduit")
        .create_up_down_counter("db.client.connections.usage")
    )
    # sqlcommenter stays off: a trace id appended to each statement makes every statement text
    # unique, which defeats asyncpg's prepared-statement cache and PostgreSQL's own statistics.
    EngineTracer(tracer, engine.sync_engine, pool_usage, enable_commenter=False)  # type: ignore[no-untyped-call]
    trace_statements(engine.sync_engine, _driver_statement_spans(tracer, engine))


def _driver_statement_spans(
    tracer: Tracer, engine: AsyncEngine
) -> Callable[[str], AbstractContextManager[Span]]:
    """Spans for the hot statements sent straight to asyncpg (conduit.repositories._rows),
    shaped like the cursor-level ones above: the same name and attributes, no values."""
    url = engine.sync_engine.url
    attributes: dict[str, str | int] = {"db.system": engine.dialect.name}
    if url.database:
        attributes["db.name"] = url.database
    if url.host:
        attributes["net.peer.name"] = url.host
    if url.port:
        attributes["net.peer.port"] = url.port

    def span(sql: str) -> AbstractContextManager[Span]:
        operation = sql.split(maxsplit=1)[0].upper() if sql.strip() else "SQL"
        return tracer.start_as_current_span(
            f"{operation} {url.database}" if url.database else operation,
            kind=SpanKind.CLIENT,
            attributes={**attributes, "db.statement": sql},
            # An exception's message may quote the values of the row (a key that already exists).
            record_exception=False,
        )

    return span


async def shutdown_tracing(provider: TracerProvider) -> None:
    """Export what is still queued, then stop; the export blocks, so it runs off the loop."""
    await anyio.to_thread.run_sync(provider.shutdown)


def _conduit_version() -> str:
    try:
        return version("conduit")
    except PackageNotFoundError:
        return "unknown"
