from __future__ import annotations

from conduit.domain.errors import (
    AlreadyExists,
    ConduitError,
    InvalidCredentials,
    NotFound,
    RateLimited,
    Unauthenticated,
)


def test_defaults_to_body_field() -> None:
    error = ConduitError("boom")
    assert (error.field, error.message) == ("body", "boom")


def test_field_and_default_message() -> None:
    error = AlreadyExists(field="username")
    assert (error.field, error.message) == ("username", "has already been taken")
    assert NotFound(field="article").message == "not found"


def test_invalid_credentials_is_an_authentication_failure() -> None:
    error = InvalidCredentials()
    assert isinstance(error, Unauthenticated)
    assert (error.field, error.message) == ("credentials", "email or password is invalid")


def test_rate_limited_carries_retry_after() -> None:
    assert RateLimited(retry_after=30).retry_after == 30
