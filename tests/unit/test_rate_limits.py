"""The pieces of rate limiting and request checks that need no app: client keys, decisions and
their headers, the limiter on every strategy, and what counts as a JSON Content-Type."""

from __future__ import annotations

import pytest

from conduit.api.middleware import is_json
from conduit.core.rate_limits import (
    Decision,
    Quota,
    QuotaLimiter,
    Strategy,
    client_identity,
    parse_limits,
)
from conduit.core.settings import Settings


class TestClientIdentity:
    @pytest.mark.parametrize(
        ("host", "identity"),
        [
            ("203.0.113.7", "ip:203.0.113.7"),
            ("2001:db8:1:2:3:4:5:6", "ip:2001:db8:1:2::/64"),
            ("2001:db8:1:2::", "ip:2001:db8:1:2::/64"),
            ("::ffff:203.0.113.7", "ip:203.0.113.7"),
            ("::1", "ip:::/64"),
            (None, "ip:unknown"),
            ("", "ip:unknown"),
            ("testclient", "ip:testclient"),
        ],
    )
    def test_keys_an_address_by_what_one_client_controls(
        self, host: str | None, identity: str
    ) -> None:
        assert client_identity(host) == identity


class TestDecision:
    def test_an_allowed_request_gets_the_ratelimit_fields(self) -> None:
        assert Decision(True, 10, 7, 42).headers() == {
            "RateLimit-Limit": "10",
            "RateLimit-Remaining": "7",
            "RateLimit-Reset": "42",
        }

    def test_a_refused_request_also_gets_retry_after_of_at_least_a_second(self) -> None:
        headers = Decision(False, 10, 0, 0).headers()
        assert headers["Retry-After"] == "1"
        assert Decision(False, 10, 0, 37).headers()["Retry-After"] == "37"


@pytest.mark.parametrize("strategy", ["moving-window", "sliding-window-counter", "fixed-window"])
async def test_every_strategy_allows_the_limit_then_refuses(strategy: Strategy) -> None:
    limiter = QuotaLimiter(strategy=strategy, key_prefix="unit")
    quota = Quota("login", parse_limits("3/minute"))
    decisions = [await limiter.hit(quota, "ip:192.0.2.1") for _ in range(4)]
    assert [d.allowed if d else None for d in decisions] == [True, True, True, False]
    assert [d.remaining if d else None for d in decisions] == [2, 1, 0, 0]
    refused = decisions[-1]
    assert refused is not None
    assert 1 <= int(refused.headers()["Retry-After"]) <= 60
    other = await limiter.hit(quota, "ip:192.0.2.2")
    assert other is not None
    assert other.allowed


class TestIsJson:
    @pytest.mark.parametrize(
        "value",
        [
            "application/json",
            "APPLICATION/JSON",
            "application/json; charset=utf-8",
            'application/json; charset="UTF-8"',
            "application/problem+json",
            "application/vnd.api+json; charset=utf-8",
        ],
    )
    def test_json(self, value: str) -> None:
        assert is_json(value)

    @pytest.mark.parametrize(
        "value",
        [
            None,
            "",
            "text/plain",
            "text/json",
            "application/jsonp",
            "application/+json",
            "application/json; charset=iso-8859-1",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
        ],
    )
    def test_not_json(self, value: str | None) -> None:
        assert not is_json(value)


def test_limits_are_on_by_default_with_production_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENABLED", "LOGIN"):
        monkeypatch.delenv(f"CONDUIT_RATE_LIMIT_{name}", raising=False)
    for name in ("CONDUIT_REDIS_URL", "CONDUIT_HSTS_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.rate_limit_enabled
    assert [str(item) for item in parse_limits(settings.rate_limit_login)] == [
        "10 per 1 minute",
        "100 per 1 hour",
    ]
    assert settings.redis_url is None
    assert settings.hsts_seconds == 0
