"""Tracing's configuration: off by default and then absent, on by settings, exported over OTLP
HTTP, flushed at shutdown. Traced requests run against an unreachable database (port 1), so
no database is needed; the OTLP collector is a small HTTP server on the loopback interface."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr, ValidationError

from conduit.core import tracing
from conduit.core.settings import Settings
from conduit.main import create_app

UNREACHABLE_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/conduit"
REPOSITORY = Path(__file__).resolve().parents[2]
# redis-py imports the SDK's metrics package whenever it is installed (for its own opt-in
# metrics); the tracing SDK, exporters and instrumentation are what Conduit's tracing brings.
LOADED_ONLY_WHEN_TRACING = (
    "opentelemetry.sdk.trace",
    "opentelemetry.exporter",
    "opentelemetry.instrumentation",
    "conduit.core.tracing",
    "conduit.api.tracing",
)


def settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "var_dir": tmp_path,
        "jwt_secret": SecretStr("x" * 40),
        "database_url": UNREACHABLE_DATABASE,
        **overrides,
    }
    return Settings.model_validate(values)


async def one_request(settings: Settings, processor: BatchSpanProcessor | None = None) -> None:
    """Start the app, send one request, stop it: the whole life of a server process."""
    app = create_app(settings)
    if processor is not None:
        app.state.tracer_provider.add_span_processor(processor)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
            assert (await client.get("/api/tags")).status_code == 503


class TestOffByDefault:
    def test_the_default_is_off(self, tmp_path: Path) -> None:
        app = create_app(settings(tmp_path))
        assert app.state.tracer_provider is None
        assert "TraceContext" not in [entry.cls.__name__ for entry in app.user_middleware]  # type: ignore[attr-defined]

    def test_a_process_with_tracing_off_never_loads_the_sdk(self, tmp_path: Path) -> None:
        # In a fresh interpreter: this test process has imported the SDK itself. FastAPI always
        # imports the OpenTelemetry API (a no-op without a provider).
        script = f"""
import asyncio, sys
from pathlib import Path
LOADED_ONLY_WHEN_TRACING = {LOADED_ONLY_WHEN_TRACING!r}
import httpx
from pydantic import SecretStr
from conduit.core.settings import Settings
from conduit.main import create_app

async def main():
    settings = Settings(environment="test", var_dir=Path({str(tmp_path)!r}),
                        jwt_secret=SecretStr("x" * 40), database_url={UNREACHABLE_DATABASE!r})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
            assert (await client.get("/api/tags")).status_code == 503

asyncio.run(main())
from opentelemetry import trace
print(type(trace.get_tracer_provider()).__name__)
print(sorted(name for name in sys.modules if name.startswith(LOADED_ONLY_WHEN_TRACING)))
"""
        env = {key: value for key, value in os.environ.items() if not key.startswith("CONDUIT_")}
        result = subprocess.run(  # noqa: S603 - this interpreter, this script
            [sys.executable, "-c", script],
            cwd=REPOSITORY,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        *_, provider, loaded = result.stdout.strip().splitlines()
        assert (provider, loaded) == ("ProxyTracerProvider", "[]")


class TestSettings:
    def test_tracing_is_configured_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CONDUIT_OTEL_ENABLED", "true")
        monkeypatch.setenv("CONDUIT_OTEL_EXPORTER", "console")
        monkeypatch.setenv("CONDUIT_OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
        monkeypatch.setenv("CONDUIT_OTEL_SERVICE_NAME", "conduit-eu")
        monkeypatch.setenv("CONDUIT_OTEL_SAMPLE_RATIO", "0.25")
        configured = Settings()
        assert configured.otel_enabled is True
        assert configured.otel_exporter == "console"
        assert configured.otel_exporter_otlp_endpoint == "http://collector:4318"
        assert configured.otel_service_name == "conduit-eu"
        assert configured.otel_sample_ratio == 0.25

    @pytest.mark.parametrize(
        "overrides",
        [
            {"otel_exporter_otlp_endpoint": "collector:4318"},
            {"otel_exporter_otlp_endpoint": "grpc://collector:4317"},
            {"otel_sample_ratio": 1.5},
            {"otel_exporter": "jaeger"},
        ],
    )
    def test_bad_values_are_refused(self, tmp_path: Path, overrides: dict[str, object]) -> None:
        with pytest.raises(ValidationError):
            settings(tmp_path, **overrides)

    @pytest.mark.parametrize(
        ("base", "endpoint"),
        [
            ("http://collector:4318", "http://collector:4318/v1/traces"),
            ("http://collector:4318/", "http://collector:4318/v1/traces"),
            ("https://otlp.example/v1/traces", "https://otlp.example/v1/traces"),
            (None, None),
        ],
    )
    def test_the_endpoint_is_a_base_url_like_the_standard_variable(
        self, base: str | None, endpoint: str | None
    ) -> None:
        assert tracing.traces_endpoint(base) == endpoint

    def test_the_service_name_comes_from_settings_then_otel_service_name(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
        assert tracing.service_name(settings(tmp_path)) == "conduit"
        monkeypatch.setenv("OTEL_SERVICE_NAME", "from-otel-env")
        assert tracing.service_name(settings(tmp_path)) == "from-otel-env"
        named = settings(tmp_path, otel_service_name="from-settings")
        assert tracing.service_name(named) == "from-settings"

    def test_the_resource_names_the_service_and_environment(self, tmp_path: Path) -> None:
        provider = tracing.build_tracer_provider(
            settings(tmp_path, otel_enabled=True, otel_exporter="none", otel_service_name="svc")
        )
        attributes = provider.resource.attributes
        assert attributes["service.name"] == "svc"
        assert attributes["deployment.environment.name"] == "test"

    def test_a_zero_ratio_records_nothing_a_caller_did_not_ask_for(self, tmp_path: Path) -> None:
        provider = tracing.build_tracer_provider(
            settings(tmp_path, otel_enabled=True, otel_exporter="none", otel_sample_ratio=0.0)
        )
        span = provider.get_tracer("t").start_span("x")
        assert not span.is_recording()


class TestShutdown:
    async def test_stopping_the_app_exports_the_spans_still_queued(self, tmp_path: Path) -> None:
        exporter = InMemorySpanExporter()
        # A delay no test waits out: only the shutdown can have exported the span.
        processor = BatchSpanProcessor(exporter, schedule_delay_millis=3_600_000)
        await one_request(settings(tmp_path, otel_enabled=True, otel_exporter="none"), processor)
        assert "GET /api/tags" in [span.name for span in exporter.get_finished_spans()]


@dataclass
class Collector:
    """An OTLP/HTTP receiver on 127.0.0.1: what it was sent, by path."""

    url: str
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)


@pytest.fixture
def collector() -> Iterator[Collector]:
    received: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Collector(f"http://127.0.0.1:{server.server_port}", received)
    finally:
        server.shutdown()
        server.server_close()


class TestOtlpExport:
    async def test_spans_reach_the_collector_as_otlp_protobuf_over_http(
        self, tmp_path: Path, collector: Collector
    ) -> None:
        configured = settings(
            tmp_path,
            otel_enabled=True,
            otel_exporter_otlp_endpoint=collector.url,
            otel_service_name="conduit-otlp-test",
        )
        await one_request(configured)
        [(path, content_type, body)] = collector.requests
        assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
        export = ExportTraceServiceRequest.FromString(body)
        [resource_spans] = export.resource_spans
        resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
        assert resource["service.name"] == "conduit-otlp-test"
        names = [span.name for scope in resource_spans.scope_spans for span in scope.spans]
        assert "GET /api/tags" in names
