"""Typed settings: one class, every variable prefixed ``PHRESH_``."""

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "PHRESH_"
# Refused outside development: a token signed with a public secret is no token.
DEFAULT_JWT_SECRET = "dev-only-insecure-secret-change-me-0123456789"  # noqa: S105
MIN_JWT_SECRET_LENGTH = 32
KEY_COMMAND = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
# The forms people paste (libpq, Heroku, SQLAlchemy with any PostgreSQL driver); asyncpg is
# what connects, whichever is given.
DATABASE_URL_SCHEMES = (
    "postgresql://",
    "postgres://",
    "postgresql+asyncpg://",
    "postgresql+psycopg://",
    "postgresql+psycopg2://",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # A validation error never quotes what was given: it may be a secret or a password.
        hide_input_in_errors=True,
    )

    environment: Literal["development", "test", "production"] = "development"
    # None: start the embedded PostgreSQL in ``data_dir``.
    database_url: SecretStr | None = None
    data_dir: Path = Path("var/pgdata")
    database_name: str = "phresh"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    access_log: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    migrate_on_start: bool = True

    # At most this many connections per process, opened when first needed; one that stays
    # idle db_pool_max_idle_s is closed (0: kept open).
    db_pool_size: int = Field(default=20, ge=1)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    db_pool_max_idle_s: float = Field(default=300.0, ge=0)
    db_echo: bool = False
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    db_lock_timeout_ms: int = Field(default=5_000, ge=0)
    db_idle_in_transaction_timeout_ms: int = Field(default=60_000, ge=0)
    db_connect_timeout_s: float = Field(default=5.0, gt=0)

    # Refused outside development even when not set: BaseSettings validates defaults too.
    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    jwt_issuer: str = "phresh"
    jwt_audience: str = "phresh-api"
    jwt_expire_minutes: int = Field(default=60, ge=1)

    login_rate_limit: int = Field(default=10, ge=1)
    login_rate_window_s: int = Field(default=60, ge=1)

    cursor_secret: SecretStr | None = None

    # Field validators, so that each error names its variable; their messages state the rule
    # and never the value.
    @field_validator("database_url")
    @classmethod
    def accept_postgresql_urls_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        url = value.get_secret_value()
        if not url.startswith(DATABASE_URL_SCHEMES):
            msg = f"must start with one of {', '.join(DATABASE_URL_SCHEMES)}"
            raise ValueError(msg)
        try:
            urlsplit(url).port  # noqa: B018 - parsing it is the check
        except ValueError:
            msg = "has a port that is not a number from 0 to 65535"
            raise ValueError(msg) from None
        return value

    @field_validator("jwt_secret")
    @classmethod
    def refuse_weak_secrets(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        secret = value.get_secret_value()
        # Absent when PHRESH_ENVIRONMENT itself is invalid: that error is reported already.
        environment = info.data.get("environment", "development")
        if environment != "development" and secret == DEFAULT_JWT_SECRET:
            msg = (
                f"must be set to a private value outside development (here: {environment}); "
                f"generate one with: {KEY_COMMAND}"
            )
            raise ValueError(msg)
        if len(secret) < MIN_JWT_SECRET_LENGTH:
            msg = (
                f"must be at least {MIN_JWT_SECRET_LENGTH} characters; "
                f"generate one with: {KEY_COMMAND}"
            )
            raise ValueError(msg)
        return value

    def async_database_url(self) -> str:
        if self.database_url is None:
            msg = "no database URL: the embedded server has not been started"
            raise RuntimeError(msg)
        return to_async_url(self.database_url.get_secret_value())

    def libpq_database_url(self) -> str:
        """The URL as asyncpg (the application's pool) and the PostgreSQL tools take it."""
        return to_libpq_url(self.async_database_url())


def to_async_url(url: str) -> str:
    """Accept the URL forms people paste (libpq, psycopg) and use asyncpg."""
    for prefix in DATABASE_URL_SCHEMES:
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def to_libpq_url(url: str) -> str:
    """The same URL as libpq, asyncpg.connect and the PostgreSQL tools take it."""
    return to_async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


def describe_settings_errors(error: ValidationError) -> list[str]:
    """One line per invalid setting: its variable and the rule it breaks, never its value."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        field = str(item["loc"][0]) if item["loc"] else ""
        variable = ENV_PREFIX + field.upper() if field else "settings"
        # A validator's own ValueError reads better without pydantic's "Value error, " prefix.
        context = item.get("ctx", {})
        message = str(context["error"]) if item["type"] == "value_error" else item["msg"]
        lines.append(f"{variable}: {message}")
    return lines


@lru_cache
def get_settings() -> Settings:
    return Settings()
