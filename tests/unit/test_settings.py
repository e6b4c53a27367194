from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from conduit.core.settings import InsecureConfiguration, Settings


class TestJwtSecret:
    def test_production_refuses_to_start_without_a_secret(self, tmp_path: Path) -> None:
        with pytest.raises(InsecureConfiguration, match="CONDUIT_JWT_SECRET"):
            Settings(environment="production", var_dir=tmp_path)

    def test_production_accepts_an_explicit_secret(self, tmp_path: Path) -> None:
        settings = Settings(environment="production", var_dir=tmp_path, jwt_secret="k" * 40)
        assert settings.resolved_jwt_secret().get_secret_value() == "k" * 40
        assert not (tmp_path / "jwt_secret").exists()

    def test_a_short_secret_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(InsecureConfiguration, match="32"):
            Settings(var_dir=tmp_path, jwt_secret="short")

    def test_development_generates_a_secret_once_and_keeps_it(self, tmp_path: Path) -> None:
        first = Settings(var_dir=tmp_path).resolved_jwt_secret().get_secret_value()
        second = Settings(var_dir=tmp_path).resolved_jwt_secret().get_secret_value()
        assert first == second
        assert len(first) >= 32
        assert (tmp_path / "jwt_secret").stat().st_mode & 0o777 == 0o600

    def test_environment_variables_configure_the_app(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CONDUIT_DATABASE_URL", "postgresql+asyncpg://db/conduit")
        monkeypatch.setenv("CONDUIT_VAR_DIR", str(tmp_path))
        settings = Settings()
        assert settings.resolved_database_url == "postgresql+asyncpg://db/conduit"
        assert settings.var_dir == tmp_path


class TestJwtKeys:
    KEYS = json.dumps(
        [{"kid": "2026-11", "secret": "n" * 40}, {"kid": "2026-05", "secret": "o" * 40}]
    )

    def test_a_json_list_from_the_environment_gives_the_keys_in_order(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CONDUIT_JWT_KEYS", self.KEYS)
        keys = Settings(environment="production", var_dir=tmp_path).resolved_jwt_keys()
        assert [(k.kid, k.secret.get_secret_value()) for k in keys] == [
            ("2026-11", "n" * 40),
            ("2026-05", "o" * 40),
        ]

    def test_the_single_secret_is_the_default_key(self, tmp_path: Path) -> None:
        keys = Settings(var_dir=tmp_path, jwt_secret="k" * 40).resolved_jwt_keys()
        assert [(k.kid, k.secret.get_secret_value()) for k in keys] == [("default", "k" * 40)]

    def test_development_signs_with_the_generated_secret(self, tmp_path: Path) -> None:
        settings = Settings(var_dir=tmp_path)
        [key] = settings.resolved_jwt_keys()
        assert key.secret == settings.resolved_jwt_secret()

    def test_a_short_secret_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(InsecureConfiguration, match="32"):
            Settings(var_dir=tmp_path, jwt_keys=[{"kid": "a", "secret": "short"}])

    @pytest.mark.parametrize(
        "keys",
        [
            [],
            [{"kid": "a", "secret": "k" * 40}, {"kid": "a", "secret": "l" * 40}],
        ],
        ids=["none", "repeated-kid"],
    )
    def test_an_empty_list_or_a_repeated_kid_is_refused(
        self, tmp_path: Path, keys: list[dict[str, str]]
    ) -> None:
        with pytest.raises(InsecureConfiguration, match="unique kids"):
            Settings(var_dir=tmp_path, jwt_keys=keys)

    def test_a_kid_that_cannot_go_in_a_header_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationError):
            Settings(var_dir=tmp_path, jwt_keys=[{"kid": "a b", "secret": "k" * 40}])

    def test_both_forms_at_once_are_refused(self, tmp_path: Path) -> None:
        with pytest.raises(InsecureConfiguration, match="not both"):
            Settings(
                var_dir=tmp_path,
                jwt_secret="k" * 40,
                jwt_keys=[{"kid": "a", "secret": "l" * 40}],
            )


def test_the_default_database_is_sqlite_under_var(tmp_path: Path) -> None:
    url = Settings(var_dir=tmp_path).resolved_database_url
    assert url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'conduit.db'}"
