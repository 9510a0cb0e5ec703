import os
from typing import Any

import pytest
from pydantic import ValidationError

from phresh.config import DEFAULT_JWT_SECRET, Settings, to_async_url

PRIVATE_SECRET = "a-private-secret-of-enough-length-0123456789"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the PHRESH_ variables it sets itself."""
    for name in list(os.environ):
        if name.startswith("PHRESH_"):
            monkeypatch.delenv(name)


def settings_from(**values: Any) -> Settings:
    """Settings from these values alone (and no .env file)."""
    return Settings(_env_file=None, **values)


def test_development_accepts_the_default_secret() -> None:
    settings = settings_from(environment="development")

    assert settings.jwt_secret.get_secret_value() == DEFAULT_JWT_SECRET


@pytest.mark.parametrize("environment", ["production", "test"])
def test_default_secret_is_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError, match="PHRESH_JWT_SECRET must be set"):
        settings_from(environment=environment)


def test_production_accepts_a_private_secret() -> None:
    settings = settings_from(environment="production", jwt_secret=PRIVATE_SECRET)

    assert settings.environment == "production"


@pytest.mark.parametrize("environment", ["development", "production"])
def test_short_secret_is_refused(environment: str) -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        settings_from(environment=environment, jwt_secret="s" * 31)


def test_secret_of_exactly_32_characters_is_accepted() -> None:
    settings = settings_from(environment="production", jwt_secret="s" * 32)

    assert len(settings.jwt_secret.get_secret_value()) == 32


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = settings_from(
        jwt_secret=PRIVATE_SECRET, database_url="postgresql://app:pa55word@db/phresh"
    )

    assert PRIVATE_SECRET not in repr(settings)
    assert "pa55word" not in repr(settings)


def test_settings_read_prefixed_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHRESH_PORT", "9001")
    monkeypatch.setenv("PHRESH_JWT_EXPIRE_MINUTES", "5")
    monkeypatch.setenv("PORT", "1234")

    settings = Settings(_env_file=None)

    assert settings.port == 9001
    assert settings.jwt_expire_minutes == 5


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql+asyncpg://u:p@h:5432/d"),
        ("postgres://u:p@h/d", "postgresql+asyncpg://u:p@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+asyncpg://u@h/d"),
        (
            "postgresql+psycopg2://u@h/d?sslmode=require",
            "postgresql+asyncpg://u@h/d?sslmode=require",
        ),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
        (
            "postgresql://postgres:@/db?host=/tmp/x",
            "postgresql+asyncpg://postgres:@/db?host=/tmp/x",
        ),
    ],
    ids=["libpq", "heroku", "psycopg3", "psycopg2", "already-async", "unix-socket"],
)
def test_to_async_url_uses_asyncpg(url: str, expected: str) -> None:
    assert to_async_url(url) == expected


def test_async_database_url_converts_the_configured_url() -> None:
    settings = settings_from(database_url="postgres://u@h/d")

    assert settings.async_database_url() == "postgresql+asyncpg://u@h/d"


def test_async_database_url_without_a_url_is_an_error() -> None:
    settings = settings_from()

    with pytest.raises(RuntimeError, match="no database URL"):
        settings.async_database_url()
