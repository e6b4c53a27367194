"""Fixtures of the Schemathesis contract suite.

- ``contract_database_url`` (session, parametrized ``sqlite`` / ``postgresql`` like
  ``database_url``): a database of the suite's own, freshly migrated. The fuzzer commits real
  rows, so it must not share the database the rolled-back tests use.
- ``contract_app`` (session): ``create_app`` on that database, with test settings.
- ``contract_admin`` (session): (email, password) of an admin ``conduit create-admin`` made in
  that database, for the operations reserved to admins.
- ``contract_schema`` (session): openapi/conduit.yaml loaded by Schemathesis with every phase and
  check enabled (``tests.contract.profile``), the app attached for in-process calls, and the
  Conduit token auth (``tests.contract.auth``) on every operation that lists the ``Token`` scheme,
  as the admin on those reserved to admins.
- ``operation_schema``: the same, narrowed to the ``operation_id`` a test is parametrized with,
  so each operation is a test of its own (``pytest tests/contract -k GetArticles``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.python import asgi
from schemathesis.specs.openapi.schemas import OpenApiSchema

from conduit import create_admin
from conduit.db.migrate import upgrade_async
from conduit.main import create_app
from generated import models
from tests.app_settings import app_settings
from tests.conftest import BACKENDS, _postgres_database
from tests.contract import idempotency_keys  # noqa: F401 - registers its before_call hook
from tests.contract.auth import (
    ConduitToken,
    admin_token,
    lists_roles,
    lists_token_scheme,
    token_cache_key,
)
from tests.contract.document import CONTRACT
from tests.contract.profile import schemathesis_config

# Schemathesis 4.32's `from_fixture` relabels the running item through `Node._nodeid`, which
# pytest 9.2 replaced with a structured `_id`. Reads fall back to the public `nodeid`; the
# relabelling is cosmetic (each operation is a test of its own here anyway), so writes are
# dropped. Remove once Schemathesis supports pytest 9.2.
if not hasattr(pytest.Item, "_nodeid"):
    pytest.Item._nodeid = property(  # type: ignore[attr-defined]
        lambda item: item.nodeid, lambda item, value: None
    )


@pytest.fixture(scope="session", params=BACKENDS)
async def contract_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('contract') / 'conduit.db'}"
        await upgrade_async(url)
        yield url
    else:
        async for url in _postgres_database():
            yield url


@pytest.fixture(scope="session")
def contract_app(
    contract_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    settings = app_settings(
        contract_database_url,
        tmp_path_factory.mktemp("contract-var"),
        # Limits on, so every response carries its RateLimit-* headers, but out of reach: the
        # fuzzer sends thousands of requests from one address. Fixed windows cost least.
        rate_limit_enabled=True,
        rate_limit_strategy="fixed-window",
        rate_limit_login="1000000/minute",
        rate_limit_register="1000000/minute",
        rate_limit_writes="1000000/minute",
    )
    app = create_app(settings)
    yield app
    # Schemathesis started the app's lifespan on its own event loop on the first call; ending
    # it disposes of the engine before the database is dropped.
    asgi.shutdown_lifespans()


@pytest.fixture(scope="session")
async def contract_admin(
    contract_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str]:
    password = uuid.uuid4().hex
    admin = models.NewUser(username="contract-admin", email="admin@example.com", password=password)
    settings = app_settings(contract_database_url, tmp_path_factory.mktemp("contract-admin-var"))
    await create_admin.create(settings, admin)
    return admin.email, password


@pytest.fixture(scope="session")
def contract_schema(contract_app: FastAPI, contract_admin: tuple[str, str]) -> OpenApiSchema:
    return load_schema(contract_app, contract_admin, schemathesis_config())


@pytest.fixture
def operation_schema(
    contract_app: FastAPI, contract_admin: tuple[str, str], operation_id: str
) -> OpenApiSchema:
    """``contract_schema`` narrowed to the operation the test is parametrized with.

    Narrowed in its configuration: ``from_fixture`` replaces a schema's own filters with the
    test's (``schema.include()`` here would run every operation in every test).
    """
    return load_schema(contract_app, contract_admin, schemathesis_config(only=operation_id))


def load_schema(app: FastAPI, admin: tuple[str, str], config: schemathesis.Config) -> OpenApiSchema:
    schema = schemathesis.openapi.from_path(CONTRACT, config=config)
    schema.app = app
    # No retry on 401: a valid token refused would be a bug to report, not a token to refresh.
    # The first provider that applies is used: admins first, on the operations reserved to them.
    schema.auth(retry_on=[]).apply_to(lists_roles)(admin_token(*admin))
    schema.auth(retry_on=[], cache_by_key=token_cache_key).apply_to(lists_token_scheme)(
        ConduitToken
    )
    return schema
