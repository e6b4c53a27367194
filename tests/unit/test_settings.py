from __future__ import annotations

from pathlib import Path

import pytest

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


def test_the_default_database_is_sqlite_under_var(tmp_path: Path) -> None:
    url = Settings(var_dir=tmp_path).resolved_database_url
    assert url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'conduit.db'}"
