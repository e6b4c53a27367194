from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import SecretStr

from conduit.core.security import TokenCodec, token_from_header
from conduit.domain.errors import Unauthenticated

SECRET = "s" * 48


def codec(secret: str = SECRET, ttl: timedelta = timedelta(hours=1)) -> TokenCodec:
    return TokenCodec(secret=SecretStr(secret), issuer="conduit", audience="conduit-api", ttl=ttl)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class TestTokenCodec:
    def test_a_token_it_issued_verifies_to_the_same_user(self) -> None:
        claims = codec().verify(codec().issue(42))
        assert claims.user_id == 42
        assert claims.token_id

    def test_every_token_carries_the_registered_claims(self) -> None:
        token = codec().issue(7)
        payload = jwt.decode(token, options={"verify_signature": False})
        assert set(payload) >= {"exp", "iat", "nbf", "iss", "aud", "sub", "jti"}

    def test_two_tokens_for_the_same_user_differ(self) -> None:
        assert codec().issue(1) != codec().issue(1)

    def test_an_expired_token_is_refused(self) -> None:
        old = datetime.now(UTC) - timedelta(hours=2)
        token = codec().issue(1, now=old)
        with pytest.raises(Unauthenticated):
            codec().verify(token)

    def test_a_token_signed_with_another_key_is_refused(self) -> None:
        token = codec(secret="x" * 48).issue(1)
        with pytest.raises(Unauthenticated):
            codec().verify(token)

    def test_a_tampered_payload_is_refused(self) -> None:
        header, _, signature = codec().issue(1).split(".")
        forged = _b64({"sub": "2", "iss": "conduit", "aud": "conduit-api"})
        with pytest.raises(Unauthenticated):
            codec().verify(f"{header}.{forged}.{signature}")

    def test_an_unsigned_alg_none_token_is_refused(self) -> None:
        now = int(datetime.now(UTC).timestamp())
        payload = {
            "sub": "1",
            "iss": "conduit",
            "aud": "conduit-api",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "jti": "x",
        }
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."
        with pytest.raises(Unauthenticated):
            codec().verify(token)

    def test_a_token_missing_a_required_claim_is_refused(self) -> None:
        now = datetime.now(UTC)
        token = jwt.encode(
            {"sub": "1", "iss": "conduit", "aud": "conduit-api", "exp": now + timedelta(hours=1)},
            SECRET,
            algorithm="HS256",
        )
        with pytest.raises(Unauthenticated):
            codec().verify(token)

    def test_a_non_numeric_subject_is_refused(self) -> None:
        now = datetime.now(UTC)
        claims = {
            "sub": "admin",
            "iss": "conduit",
            "aud": "conduit-api",
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(hours=1),
            "jti": "x",
        }
        with pytest.raises(Unauthenticated):
            codec().verify(jwt.encode(claims, SECRET, algorithm="HS256"))

    def test_garbage_is_refused(self) -> None:
        with pytest.raises(Unauthenticated):
            codec().verify("not-a-jwt")


class TestTokenFromHeader:
    @pytest.mark.parametrize("scheme", ["Token", "Bearer", "token", "BEARER"])
    def test_both_schemes_are_accepted_in_any_case(self, scheme: str) -> None:
        assert token_from_header(f"{scheme} abc.def.ghi") == "abc.def.ghi"

    def test_no_header_means_anonymous(self) -> None:
        assert token_from_header(None) is None

    @pytest.mark.parametrize(
        "value", ["", "Token", "Token ", "Basic abc", "abc.def.ghi", "Token a b"]
    )
    def test_a_malformed_header_is_refused(self, value: str) -> None:
        with pytest.raises(Unauthenticated):
            token_from_header(value)
