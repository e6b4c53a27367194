"""Health, readiness, metrics and per-request logging: what an operator relies on."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import structlog
from fastapi import FastAPI
from pydantic import SecretStr

from conduit.core.settings import Settings
from conduit.main import create_app
from tests.integration.api import Api


class TestHealth:
    async def test_liveness_needs_no_dependency(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert (response.status_code, response.json()) == (200, {"status": "ok", "checks": {}})

    async def test_readiness_checks_the_database(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["checks"] == {"database": "ok"}

    async def test_readiness_is_503_when_the_database_is_unreachable(self, tmp_path: Path) -> None:
        settings = Settings(
            environment="test",
            var_dir=tmp_path,
            jwt_secret=SecretStr("x" * 40),
            # Nothing listens on port 1: the connection is refused at once.
            database_url="postgresql+asyncpg://postgres@127.0.0.1:1/conduit",
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
                ready = await client.get("/readyz")
                alive = await client.get("/healthz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "checks": {"database": "unreachable"}}
        assert alive.status_code == 200

    async def test_readiness_is_503_while_shutting_down(self, client: httpx.AsyncClient) -> None:
        app = client._transport.app  # type: ignore[attr-defined]
        app.state.shutting_down = True
        try:
            response = await client.get("/readyz")
        finally:
            app.state.shutting_down = False
        assert response.status_code == 503
        assert response.json()["checks"] == {"server": "shutting down"}

    async def test_operational_endpoints_stay_out_of_the_contract(
        self, client: httpx.AsyncClient
    ) -> None:
        document = (await client.get("/api/openapi.json")).json()
        assert not {"/healthz", "/readyz", "/metrics"} & set(document["paths"])


class TestRequestIds:
    async def test_a_client_request_id_is_echoed(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/tags", headers={"X-Request-ID": "trace-42"})
        assert response.headers["X-Request-ID"] == "trace-42"

    async def test_a_request_id_is_generated_when_absent(self, client: httpx.AsyncClient) -> None:
        first = await client.get("/api/tags")
        second = await client.get("/api/tags")
        assert len(first.headers["X-Request-ID"]) == 32
        assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]

    async def test_error_responses_carry_the_id_too(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/articles/no-such-article")
        assert response.status_code == 404
        assert "X-Request-ID" in response.headers

    async def test_an_unexpected_500_carries_the_id_and_its_log_line_names_it(
        self, app: FastAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def boom() -> None:
            raise RuntimeError("a bug")

        app.add_api_route("/boom", boom, methods=["GET"])
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://conduit.test") as c:
            response = await c.get("/boom", headers={"X-Request-ID": "trace-500"})
        assert response.status_code == 500
        assert response.headers["X-Request-ID"] == "trace-500"
        [failed] = [r for r in caplog.records if r.getMessage() == "request_failed"]
        assert getattr(failed, "request_id", None) == "trace-500"


class TestRequestLog:
    async def test_one_line_per_request_with_route_status_duration_and_user(
        self, client: httpx.AsyncClient, api: Api
    ) -> None:
        account = await api.register("loguser")
        with structlog.testing.capture_logs() as logs:
            await client.get(
                "/api/articles/missing", headers={**account.headers, "X-Request-ID": "r-1"}
            )
        [line] = [entry for entry in logs if entry["event"] == "request_finished"]
        assert line["method"] == "GET"
        assert line["route"] == "/api/articles/{slug}"
        assert line["status"] == 404
        assert line["duration_ms"] >= 0
        assert line["user_id"] is not None

    async def test_the_log_line_never_holds_the_token(
        self, client: httpx.AsyncClient, api: Api
    ) -> None:
        account = await api.register("quietuser")
        with structlog.testing.capture_logs() as logs:
            await client.get("/api/user", headers=account.headers)
        assert account.token not in repr(logs)


class TestMetrics:
    async def test_requests_are_counted_by_route_template_and_status(
        self, client: httpx.AsyncClient
    ) -> None:
        await client.get("/api/articles/one-missing-article")
        body = (await client.get("/metrics")).text
        assert (
            'conduit_http_requests_total{method="GET",route="/api/articles/{slug}",status="404"}'
            in body
        )
        assert "conduit_http_request_duration_seconds_bucket" in body

    async def test_pool_usage_is_exported(self, client: httpx.AsyncClient) -> None:
        body = (await client.get("/metrics")).text
        assert "conduit_db_pool_checked_out" in body

    async def test_unknown_paths_share_one_label(self, client: httpx.AsyncClient) -> None:
        for n in range(3):
            await client.get(f"/scan/{n}")
        body = (await client.get("/metrics")).text
        assert 'route="<unmatched>",status="404"' in body
        assert "/scan/" not in body


class TestDatabaseFaults:
    async def test_an_unreachable_database_is_503_with_retry_after(self, tmp_path: Path) -> None:
        settings = Settings(
            environment="test",
            var_dir=tmp_path,
            jwt_secret=SecretStr("x" * 40),
            database_url="postgresql+asyncpg://postgres@127.0.0.1:1/conduit",
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
                read = await client.get("/api/tags")
                write = await client.post(
                    "/api/users",
                    json={"user": {"username": "u", "email": "u@x.io", "password": "p" * 8}},
                )
        for response in (read, write):
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "1"
            assert list(response.json()["errors"]) == ["body"]

    async def test_an_exhausted_pool_is_503_within_the_pool_timeout(
        self, database_url: str, tmp_path: Path
    ) -> None:
        settings = Settings(
            environment="test",
            var_dir=tmp_path,
            jwt_secret=SecretStr("x" * 40),
            database_url=database_url,
            db_pool_size=1,
            db_max_overflow=0,
            db_pool_timeout_seconds=0.3,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://c") as client,
                app.state.engine.connect(),  # the pool's only connection, held
            ):
                started = time.perf_counter()
                response = await client.get("/api/tags")
                elapsed = time.perf_counter() - started
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert elapsed < 3
