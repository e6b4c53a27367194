from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import SecretStr

from conduit.core.security import SigningKey, TokenCodec, token_from_header
from conduit.domain.errors import Unauthenticated

SECRET = "s" * 48
KID = "default"


def key(kid: str = KID, secret: str = SECRET) -> SigningKey:
    return SigningKey(kid, SecretStr(secret))


def codec(
    secret: str = SECRET,
    ttl: timedelta = timedelta(hours=1),
    *,
    keys: list[SigningKey] | None = None,
) -> TokenCodec:
    return TokenCodec(
        keys=keys or [key(secret=secret)], issuer="conduit", audience="conduit-api", ttl=ttl
    )


def claims(**overrides: object) -> dict[str, object]:
    """Valid claims for user 1 at version 0, as Conduit issues them."""
    now = int(datetime.now(UTC).timestamp())
    base: dict[str, object] = {
        "sub": "1",
        "iss": "conduit",
        "aud": "conduit-api",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": "x",
        "ver": 0,
    }
    return {**base, **overrides}


def signed(payload: dict[str, object], *, kid: str | None = KID, secret: str = SECRET) -> str:
    headers = {} if kid is None else {"kid": kid}
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers)


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
        assert set(payload) >= {"exp", "iat", "nbf", "iss", "aud", "sub", "jti", "ver"}

    def test_the_token_version_round_trips(self) -> None:
        assert codec().verify(codec().issue(7, version=3)).version == 3

    def test_the_header_names_the_signing_key(self) -> None:
        header = jwt.get_unverified_header(codec().issue(7))
        assert header == {"alg": "HS256", "typ": "JWT", "kid": KID}

    def test_two_tokens_for_the_same_user_differ(self) -> None:
        assert codec().issue(1) != codec().issue(1)

    def test_an_expired_token_is_refused(self) -> None:
        old = datetime.now(UTC) - timedelta(hours=2)
        token = codec().issue(1, now=old)
        with pytest.raises(Unauthenticated):
            codec().verify(token)

    def test_a_remembered_token_is_refused_once_it_expires(self) -> None:
        tokens = codec(ttl=timedelta(minutes=1))
        token = tokens.issue(1, now=datetime.now(UTC) - timedelta(seconds=58))
        assert tokens.verify(token).user_id == 1
        assert tokens.verify(token).user_id == 1  # remembered
        expires = jwt.decode(token, options={"verify_signature": False})["exp"]
        time.sleep(max(0.0, expires - time.time()) + 0.05)
        with pytest.raises(Unauthenticated):
            tokens.verify(token)

    def test_a_token_not_yet_in_force_is_not_remembered(self) -> None:
        tokens = codec()
        token = signed(claims(nbf=int(time.time()) + 3600))
        for _ in range(2):
            with pytest.raises(Unauthenticated):
                tokens.verify(token)

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
        token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': KID})}.{_b64(claims())}."
        with pytest.raises(Unauthenticated):
            codec().verify(token)

    def test_a_token_signed_with_another_algorithm_is_refused(self) -> None:
        secret = "s" * 64  # long enough for HS512: the algorithm is the only thing wrong
        token = jwt.encode(claims(), secret, algorithm="HS512", headers={"kid": KID})
        with pytest.raises(Unauthenticated):
            codec(secret).verify(token)

    def test_a_well_formed_token_of_conduits_shape_verifies(self) -> None:
        # The control for the refusals around it: only the one thing each changes is wrong.
        assert codec().verify(signed(claims())).user_id == 1

    @pytest.mark.parametrize("claim", ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "ver"])
    def test_a_token_missing_a_required_claim_is_refused(self, claim: str) -> None:
        payload = claims()
        del payload[claim]
        with pytest.raises(Unauthenticated):
            codec().verify(signed(payload))

    @pytest.mark.parametrize("version", ["0", -1, 1.5, True, None])
    def test_a_version_that_is_not_a_natural_number_is_refused(self, version: object) -> None:
        with pytest.raises(Unauthenticated):
            codec().verify(signed(claims(ver=version)))

    @pytest.mark.parametrize(
        "claim", [{"iss": "someone-else"}, {"aud": "another-api"}, {"nbf": 4_000_000_000}]
    )
    def test_a_token_for_another_issuer_audience_or_time_is_refused(
        self, claim: dict[str, object]
    ) -> None:
        with pytest.raises(Unauthenticated):
            codec().verify(signed(claims(**claim)))

    def test_a_non_numeric_subject_is_refused(self) -> None:
        with pytest.raises(Unauthenticated):
            codec().verify(signed(claims(sub="admin")))

    def test_garbage_is_refused(self) -> None:
        with pytest.raises(Unauthenticated):
            codec().verify("not-a-jwt")


class TestKeyRotation:
    def test_the_first_key_signs(self) -> None:
        rotated = codec(keys=[key("new", "n" * 48), key("old", SECRET)])
        assert jwt.get_unverified_header(rotated.issue(1))["kid"] == "new"

    def test_a_token_of_an_older_key_still_verifies_until_the_key_is_removed(self) -> None:
        old_token = codec(keys=[key("old", SECRET)]).issue(1)

        assert codec(keys=[key("new", "n" * 48), key("old", SECRET)]).verify(old_token).user_id == 1
        with pytest.raises(Unauthenticated):
            codec(keys=[key("new", "n" * 48)]).verify(old_token)

    @pytest.mark.parametrize("kid", ["unknown", None, 7])
    def test_an_unknown_or_missing_key_id_is_refused(self, kid: object) -> None:
        header = {"alg": "HS256", "typ": "JWT"} | ({} if kid is None else {"kid": kid})
        # Signed by hand: PyJWT will not write a non-string kid.
        unsigned = f"{_b64(header)}.{_b64(claims())}"
        digest = hmac.new(SECRET.encode(), unsigned.encode(), hashlib.sha256).digest()
        token = f"{unsigned}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"
        with pytest.raises(Unauthenticated):
            codec().verify(token)

    def test_a_key_id_does_not_make_another_keys_signature_valid(self) -> None:
        # The kid picks the key; the signature must still be that key's.
        rotated = codec(keys=[key("new", "n" * 48), key("old", SECRET)])
        with pytest.raises(Unauthenticated):
            rotated.verify(signed(claims(), kid="old", secret="n" * 48))

    def test_duplicate_key_ids_are_refused(self) -> None:
        with pytest.raises(ValueError, match="unique"):
            codec(keys=[key("a", SECRET), key("a", "n" * 48)])


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
