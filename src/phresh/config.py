"""Typed settings: one class, every variable prefixed ``PHRESH_``."""

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Refused outside development: a token signed with a public secret is no token.
DEFAULT_JWT_SECRET = "dev-only-insecure-secret-change-me-0123456789"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PHRESH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
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

    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    db_pool_recycle_s: int = Field(default=1800, ge=-1)
    # Off: a ping is a round trip on every checkout. A dropped connection is detected on use
    # instead, and SQLAlchemy then recycles the whole pool, so one request sees the outage.
    db_pool_pre_ping: bool = False
    db_echo: bool = False
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    db_lock_timeout_ms: int = Field(default=5_000, ge=0)
    db_idle_in_transaction_timeout_ms: int = Field(default=60_000, ge=0)
    db_connect_timeout_s: float = Field(default=5.0, gt=0)

    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    jwt_issuer: str = "phresh"
    jwt_audience: str = "phresh-api"
    jwt_expire_minutes: int = Field(default=60, ge=1)

    login_rate_limit: int = Field(default=10, ge=1)
    login_rate_window_s: int = Field(default=60, ge=1)

    cursor_secret: SecretStr | None = None

    @model_validator(mode="after")
    def refuse_default_secret(self) -> Self:
        if self.environment != "development" and (
            self.jwt_secret.get_secret_value() == DEFAULT_JWT_SECRET
        ):
            msg = "PHRESH_JWT_SECRET must be set to a private value outside development"
            raise ValueError(msg)
        if len(self.jwt_secret.get_secret_value()) < 32:
            msg = "PHRESH_JWT_SECRET must be at least 32 characters"
            raise ValueError(msg)
        return self

    def async_database_url(self) -> str:
        if self.database_url is None:
            msg = "no database URL: the embedded server has not been started"
            raise RuntimeError(msg)
        return to_async_url(self.database_url.get_secret_value())


def to_async_url(url: str) -> str:
    """Accept the URL forms people paste (libpq, psycopg) and use asyncpg."""
    for prefix in (
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
        "postgres://",
        "postgresql://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
