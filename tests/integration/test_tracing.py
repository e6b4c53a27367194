"""OpenTelemetry tracing with CONDUIT_OTEL_ENABLED: request spans, SQL spans, log correlation.

The app runs as in production, on a database of its own (its lifespan's engine is the one
traced, so the test's rolled-back connection cannot be used), with the spans collected in
memory instead of exported.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import httpx
import pytest
import structlog
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from conduit.api import tags
from conduit.core.settings import Settings
from conduit.db.migrate import upgrade_async
from conduit.main import create_app
from tests.app_settings import app_settings
from tests.conftest import BACKENDS, _postgres_database
from tests.integration.api import PASSWORD, Account, Api

# A W3C traceparent as an upstream service would send it (sampled).
CALLER_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01"


def traced_settings(database_url: str, var_dir: Path) -> Settings:
    return app_settings(
        database_url,
        var_dir,
        otel_enabled=True,
        # Nothing leaves the process; the tests add an in-memory exporter of their own.
        otel_exporter="none",
    )


def collect_spans(app: FastAPI) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    app.state.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture(scope="module", params=BACKENDS)
async def traced_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, str]]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('traced') / 'conduit.db'}"
        await upgrade_async(url)
        yield request.param, url
    else:
        async for url in _postgres_database():
            yield request.param, url


@pytest.fixture(scope="module")
async def traced_app(
    traced_database: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[FastAPI, InMemorySpanExporter]]:
    app = create_app(traced_settings(traced_database[1], tmp_path_factory.mktemp("var")))
    spans = collect_spans(app)
    async with app.router.lifespan_context(app):
        yield app, spans


@pytest.fixture
def spans(traced_app: tuple[FastAPI, InMemorySpanExporter]) -> Iterator[InMemorySpanExporter]:
    exporter = traced_app[1]
    exporter.clear()
    yield exporter
    exporter.clear()


@pytest.fixture
async def client(
    traced_app: tuple[FastAPI, InMemorySpanExporter],
) -> AsyncIterator[httpx.AsyncClient]:
    # Unhandled errors are answered 500 (and tested as such) rather than raised in the test.
    transport = httpx.ASGITransport(app=traced_app[0], raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://conduit.test") as client:
        yield client


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


_accounts = iter(range(1_000_000))


async def register(api: Api) -> Account:
    # The database lives as long as the module: every test needs names of its own.
    return await api.register(f"tracer{next(_accounts)}")


def server_spans(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in spans.get_finished_spans() if span.kind is SpanKind.SERVER]


def one_server_span(spans: InMemorySpanExporter) -> ReadableSpan:
    [span] = server_spans(spans)
    return span


def descendants_of(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    """Spans under ``span``: SQL runs inside FastAPI's spans for dependencies and endpoint."""
    assert span.context is not None
    found: list[ReadableSpan] = []
    parents = {span.context.span_id}
    for candidate in sorted(spans, key=lambda s: s.start_time or 0):
        if candidate.parent is not None and candidate.parent.span_id in parents:
            assert candidate.context is not None
            found.append(candidate)
            parents.add(candidate.context.span_id)
    return found


def sql_spans(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    return [
        child
        for child in descendants_of(span, spans)
        if child.attributes is not None and "db.system" in child.attributes
    ]


class TestServerSpan:
    async def test_a_request_is_one_span_named_by_its_route_template(
        self, api: Api, spans: InMemorySpanExporter
    ) -> None:
        author = await register(api)
        slug = (await api.create_article(author))["slug"]
        spans.clear()
        response = await api.get_article(slug)
        assert response.status_code == 200
        span = one_server_span(spans)
        assert span.name == "GET /api/articles/{slug}"
        assert span.attributes is not None
        assert span.attributes["http.request.method"] == "GET"
        assert span.attributes["http.route"] == "/api/articles/{slug}"
        assert span.attributes["http.response.status_code"] == 200
        assert span.attributes["url.path"] == f"/api/articles/{slug}"
        assert span.attributes["http.response.header.x-request-id"] == (
            response.headers["X-Request-ID"],
        )
        assert span.status.status_code is StatusCode.UNSET

    async def test_sql_statements_are_child_spans_without_their_values(
        self,
        api: Api,
        spans: InMemorySpanExporter,
        traced_database: tuple[str, str],
    ) -> None:
        author = await register(api)
        slug = (await api.create_article(author, title="Traced statements"))["slug"]
        spans.clear()
        await api.get_article(slug, author)
        server = one_server_span(spans)
        statements = sql_spans(server, spans.get_finished_spans())
        assert statements
        for statement in statements:
            assert statement.kind is SpanKind.CLIENT
            assert statement.context is not None and server.context is not None
            assert statement.context.trace_id == server.context.trace_id
            assert statement.attributes is not None
            assert statement.attributes["db.system"] == traced_database[0]
        [article_query] = [
            span
            for span in statements
            if span.attributes is not None
            and "FROM articles" in str(span.attributes["db.statement"])
        ]
        assert article_query.attributes is not None
        text = str(article_query.attributes["db.statement"])
        assert slug not in text
        assert ("$1" if traced_database[0] == "postgresql" else "?") in text

    async def test_the_user_id_is_on_authenticated_requests_only(
        self, api: Api, client: httpx.AsyncClient, spans: InMemorySpanExporter
    ) -> None:
        account = await register(api)
        spans.clear()
        await client.get("/api/user", headers=account.headers)
        await client.get("/api/tags")
        authenticated, anonymous = server_spans(spans)
        assert authenticated.attributes is not None and anonymous.attributes is not None
        assert authenticated.attributes["user.id"].isdigit()  # type: ignore[union-attr]
        assert "user.id" not in anonymous.attributes

    async def test_a_traceparent_continues_the_callers_trace(
        self, client: httpx.AsyncClient, spans: InMemorySpanExporter
    ) -> None:
        await client.get("/api/tags", headers={"traceparent": TRACEPARENT})
        span = one_server_span(spans)
        assert span.context is not None and span.parent is not None
        assert format(span.context.trace_id, "032x") == CALLER_TRACE_ID
        assert format(span.parent.span_id, "016x") == CALLER_SPAN_ID
        assert span.parent.is_remote
        # The statements belong to the caller's trace too.
        for child in descendants_of(span, spans.get_finished_spans()):
            assert child.context is not None
            assert child.context.trace_id == span.context.trace_id

    async def test_without_traceparent_a_trace_starts_here(
        self, client: httpx.AsyncClient, spans: InMemorySpanExporter
    ) -> None:
        await client.get("/api/tags")
        span = one_server_span(spans)
        assert span.parent is None

    async def test_a_client_error_is_not_a_span_error(
        self, client: httpx.AsyncClient, spans: InMemorySpanExporter
    ) -> None:
        response = await client.get("/api/articles/no-such-article")
        assert response.status_code == 404
        span = one_server_span(spans)
        assert span.attributes is not None
        assert span.attributes["http.response.status_code"] == 404
        assert span.status.status_code is StatusCode.UNSET

    async def test_unmatched_paths_share_one_span_name(
        self, client: httpx.AsyncClient, spans: InMemorySpanExporter
    ) -> None:
        await client.get("/scan/12345")
        span = one_server_span(spans)
        assert span.name == "GET"
        assert span.attributes is not None
        assert "http.route" not in span.attributes

    async def test_an_unhandled_exception_is_a_500_error_span(
        self,
        traced_app: tuple[FastAPI, InMemorySpanExporter],
        client: httpx.AsyncClient,
        spans: InMemorySpanExporter,
    ) -> None:
        app = traced_app[0]

        async def broken() -> tags.Tags:
            raise RuntimeError("boom with a secret inside")

        app.dependency_overrides[tags.provide] = broken
        try:
            response = await client.get("/api/tags")
        finally:
            del app.dependency_overrides[tags.provide]
        assert response.status_code == 500
        span = one_server_span(spans)
        assert span.name == "GET /api/tags"
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes is not None
        assert span.attributes["error.type"] == "RuntimeError"
        assert span.attributes["http.response.status_code"] == 500
        # The exception's text may hold SQL parameters: only its type goes into the span.
        assert "secret" not in span.to_json()

    async def test_probes_make_no_spans(
        self, client: httpx.AsyncClient, spans: InMemorySpanExporter
    ) -> None:
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await client.get(path)).status_code == 200
        # Not even the readiness check's SELECT 1, as a trace of its own.
        assert spans.get_finished_spans() == ()


class TestSecrets:
    async def test_no_span_holds_a_token_a_password_or_the_authorization_header(
        self, api: Api, client: httpx.AsyncClient, spans: InMemorySpanExporter
    ) -> None:
        spans.clear()
        account = await register(api)
        login = await api.login(account.email, PASSWORD)
        token = login.json()["user"]["token"]
        new_password = "an entirely new passphrase"
        await client.get("/api/user", headers=account.headers)
        await client.put(
            "/api/user", json={"user": {"password": new_password}}, headers=account.headers
        )
        await client.get("/api/user", headers={"Authorization": "Token not-a-real-token-xyz"})
        recorded = "\n".join(span.to_json() for span in spans.get_finished_spans())
        assert len(server_spans(spans)) == 5
        for secret in (account.token, token, PASSWORD, new_password, "not-a-real-token-xyz"):
            assert secret not in recorded
        assert "authorization" not in recorded.lower()


class TestLogCorrelation:
    async def test_the_request_log_line_names_the_trace_and_the_span(
        self, client: httpx.AsyncClient, spans: InMemorySpanExporter
    ) -> None:
        with structlog.testing.capture_logs(
            processors=[structlog.contextvars.merge_contextvars]
        ) as logs:
            await client.get("/api/tags", headers={"traceparent": TRACEPARENT})
        [line] = [entry for entry in logs if entry["event"] == "request_finished"]
        span = one_server_span(spans)
        assert span.context is not None
        assert line["trace_id"] == CALLER_TRACE_ID
        assert line["span_id"] == format(span.context.span_id, "016x")
        # Bound for the request only: nothing leaks into what is logged after it.
        assert "trace_id" not in structlog.contextvars.get_contextvars()


class TestDatabaseUnavailable:
    async def test_a_503_marks_the_span_as_an_error(self, tmp_path: Path) -> None:
        # Nothing listens on port 1: the connection is refused at once.
        settings = traced_settings("postgresql+asyncpg://postgres@127.0.0.1:1/conduit", tmp_path)
        app = create_app(settings)
        spans = collect_spans(app)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
                response = await client.get("/api/tags")
        assert response.status_code == 503
        span = one_server_span(spans)
        assert span.name == "GET /api/tags"
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes is not None
        assert span.attributes["http.response.status_code"] == 503
        assert span.attributes["error.type"] == "503"
