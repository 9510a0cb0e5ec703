import os
from typing import Any

import pytest
from pydantic import ValidationError

from phresh.config import (
    DEFAULT_JWT_SECRET,
    KEY_COMMAND,
    Settings,
    describe_settings_errors,
    to_async_url,
)

PRIVATE_SECRET = "a-private-secret-of-enough-length-0123456789"
SHORT_SECRET = "tooShortButSecret"
URL_PASSWORD = "pa55word-of-the-db"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the PHRESH_ variables it sets itself."""
    for name in list(os.environ):
        if name.startswith("PHRESH_"):
            monkeypatch.delenv(name)


def settings_from(**values: Any) -> Settings:
    """Settings from these values alone (and no .env file)."""
    return Settings(_env_file=None, **values)


def refusal(**values: Any) -> tuple[str, list[str]]:
    """The ValidationError's text and the CLI's lines for these values."""
    with pytest.raises(ValidationError) as caught:
        settings_from(**values)
    return str(caught.value), describe_settings_errors(caught.value)


def test_development_accepts_the_default_secret() -> None:
    settings = settings_from(environment="development")

    assert settings.jwt_secret.get_secret_value() == DEFAULT_JWT_SECRET


@pytest.mark.parametrize("environment", ["production", "test"])
def test_default_secret_is_refused_outside_development(environment: str) -> None:
    _, lines = refusal(environment=environment)

    assert len(lines) == 1
    assert lines[0].startswith("PHRESH_JWT_SECRET: must be set to a private value")
    assert "secrets.token_urlsafe" in lines[0]


def test_missing_secret_error_shows_no_other_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHRESH_DATABASE_URL", f"postgresql://app:{URL_PASSWORD}@db/phresh")

    text, lines = refusal(environment="production")

    assert URL_PASSWORD not in text
    assert URL_PASSWORD not in "\n".join(lines)
    assert [line.split(":")[0] for line in lines] == ["PHRESH_JWT_SECRET"]


def test_production_accepts_a_private_secret() -> None:
    settings = settings_from(environment="production", jwt_secret=PRIVATE_SECRET)

    assert settings.environment == "production"


@pytest.mark.parametrize("environment", ["development", "production"])
def test_short_secret_is_refused(environment: str) -> None:
    _, lines = refusal(environment=environment, jwt_secret="s" * 31)

    assert len(lines) == 1
    assert lines[0].startswith("PHRESH_JWT_SECRET: must be at least 32 characters")


def test_a_refused_secret_is_never_quoted() -> None:
    text, lines = refusal(environment="production", jwt_secret=SHORT_SECRET)

    assert SHORT_SECRET not in text
    assert SHORT_SECRET not in "\n".join(lines)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@h/d",
        "postgres://u@h/d",
        "postgresql+asyncpg://u@h/d",
        "postgresql+psycopg://u@h/d",
        "postgresql+psycopg2://u@h/d",
    ],
)
def test_postgresql_url_schemes_are_accepted(url: str) -> None:
    assert settings_from(database_url=url).async_database_url().startswith("postgresql+asyncpg://")


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://root:{URL_PASSWORD}@localhost/phresh",
        f"sqlite:///{URL_PASSWORD}.db",
        f"postgresql:{URL_PASSWORD}@localhost/phresh",
    ],
    ids=["mysql", "sqlite", "no-slashes"],
)
def test_other_url_schemes_are_refused_naming_the_accepted_ones(url: str) -> None:
    text, lines = refusal(database_url=url)

    assert lines == [
        "PHRESH_DATABASE_URL: must start with one of postgresql://, postgres://, "
        "postgresql+asyncpg://, postgresql+psycopg://, postgresql+psycopg2://"
    ]
    assert URL_PASSWORD not in text


def test_a_url_with_a_non_numeric_port_is_refused() -> None:
    text, lines = refusal(database_url=f"postgresql://u:{URL_PASSWORD}@h:54x2/d")

    assert lines == ["PHRESH_DATABASE_URL: has a port that is not a number from 0 to 65535"]
    assert URL_PASSWORD not in text


def test_each_invalid_variable_gets_its_own_line_without_its_value() -> None:
    text, lines = refusal(port="eighty", log_level="LOUD", environment="staging")

    variables = [line.split(":")[0] for line in lines]
    assert variables == ["PHRESH_ENVIRONMENT", "PHRESH_PORT", "PHRESH_LOG_LEVEL"]
    assert "eighty" not in text
    assert "LOUD" not in text
    assert "staging" not in text


def test_previous_secrets_are_read_as_a_list_in_their_order() -> None:
    settings = settings_from(
        jwt_secret=PRIVATE_SECRET, jwt_previous_secrets=f" {'a' * 32} ,{'b' * 40},, "
    )

    assert [s.get_secret_value() for s in settings.jwt_previous_secret_list()] == [
        "a" * 32,
        "b" * 40,
    ]
    assert settings_from().jwt_previous_secret_list() == []


@pytest.mark.parametrize("environment", ["development", "production"])
def test_a_short_previous_secret_is_refused_by_its_place_never_its_value(
    environment: str,
) -> None:
    text, lines = refusal(
        environment=environment,
        jwt_secret=PRIVATE_SECRET,
        jwt_previous_secrets=f"{'a' * 32},{SHORT_SECRET}",
    )

    assert lines == [
        "PHRESH_JWT_PREVIOUS_SECRETS: entry 2 of 2 must be at least 32 characters; "
        f"generate one with: {KEY_COMMAND}"
    ]
    assert SHORT_SECRET not in text
    assert "a" * 32 not in text


@pytest.mark.parametrize("environment", ["production", "test"])
def test_the_default_secret_is_refused_as_a_previous_secret_outside_development(
    environment: str,
) -> None:
    _, lines = refusal(
        environment=environment, jwt_secret=PRIVATE_SECRET, jwt_previous_secrets=DEFAULT_JWT_SECRET
    )

    assert len(lines) == 1
    assert lines[0].startswith(
        "PHRESH_JWT_PREVIOUS_SECRETS: entry 1 of 1 must be set to a private value"
    )
    assert settings_from(jwt_previous_secrets=DEFAULT_JWT_SECRET).jwt_previous_secret_list()


def test_previous_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = settings_from(jwt_previous_secrets=PRIVATE_SECRET)

    assert PRIVATE_SECRET not in repr(settings)
    assert PRIVATE_SECRET not in repr(settings.jwt_previous_secret_list())


@pytest.mark.parametrize("leeway", [-1, 301])
def test_a_leeway_outside_0_to_300_seconds_is_refused(leeway: int) -> None:
    _, lines = refusal(jwt_leeway_s=leeway)

    assert [line.split(":")[0] for line in lines] == ["PHRESH_JWT_LEEWAY_S"]
    assert settings_from().jwt_leeway_s == 30


def test_cursors_follow_the_jwt_secrets_unless_they_have_their_own() -> None:
    rotating = settings_from(jwt_secret=PRIVATE_SECRET, jwt_previous_secrets="p" * 32)
    own = settings_from(
        jwt_secret=PRIVATE_SECRET, jwt_previous_secrets="p" * 32, cursor_secret="c" * 32
    )

    assert [s.get_secret_value() for s in rotating.cursor_secrets()] == [PRIVATE_SECRET, "p" * 32]
    assert [s.get_secret_value() for s in own.cursor_secrets()] == ["c" * 32]


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


@pytest.mark.parametrize(
    ("overrides", "base"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"port": 8011}, "http://127.0.0.1:8011"),
        ({"host": "0.0.0.0", "port": 9000}, "http://127.0.0.1:9000"),  # noqa: S104
        ({"host": "::1"}, "http://[::1]:8000"),
        ({"public_url": "https://phresh.example/app/"}, "https://phresh.example/app"),
    ],
)
def test_mail_links_point_at_this_server_unless_told(
    overrides: dict[str, object], base: str
) -> None:
    settings = Settings.model_validate({"environment": "development", **overrides})

    assert settings.link_base() == base


def test_the_client_waits_a_little_longer_than_the_servers_statement_timeout() -> None:
    assert Settings(db_statement_timeout_ms=15_000).db_command_timeout_s() == 16.0


def test_no_statement_timeout_means_no_client_statement_timeout_either() -> None:
    # The request deadline still bounds the request.
    assert Settings(db_statement_timeout_ms=0).db_command_timeout_s() is None


@pytest.mark.parametrize(
    ("environment", "drain_s"), [("development", 0.0), ("test", 0.0), ("production", 5.0)]
)
def test_the_shutdown_drain_lasts_a_few_seconds_in_production_only(
    environment: str, drain_s: float
) -> None:
    settings = settings_from(environment=environment, jwt_secret=PRIVATE_SECRET)

    assert settings.shutdown_drain_s_or_default() == drain_s


def test_a_shutdown_drain_that_is_set_wins_in_any_environment() -> None:
    settings = settings_from(
        environment="production", jwt_secret=PRIVATE_SECRET, shutdown_drain_s=0
    )

    assert settings.shutdown_drain_s_or_default() == 0.0


def test_argon2_lanes_that_do_not_fit_the_memory_are_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(password_hash_memory_kib=16, password_hash_parallelism=4)

    assert describe_settings_errors(refused.value) == [
        "PHRESH_PASSWORD_HASH_PARALLELISM: needs at least 8 KiB of "
        "PHRESH_PASSWORD_HASH_MEMORY_KIB per lane (argon2)"
    ]


# --- Behind a transaction pooler (PHRESH_DB_POOLER) ------------------------------------

POOLED_URL = f"postgresql://app:{URL_PASSWORD}@bouncer.internal:6432/phresh"
DIRECT_URL = f"postgresql://owner:{URL_PASSWORD}@db.internal:5432/phresh"
LISTEN_URL = f"postgresql://listener:{URL_PASSWORD}@db-listen.internal:5432/phresh"


def test_a_pooled_url_without_a_direct_one_is_refused_naming_the_listen_url() -> None:
    text, lines = refusal(db_pooler="pgbouncer", database_url=POOLED_URL)

    assert len(lines) == 1
    assert lines[0].startswith("PHRESH_DATABASE_LISTEN_URL: must be set with PHRESH_DB_POOLER")
    for part in (URL_PASSWORD, "bouncer.internal", "postgresql://"):
        assert part not in text
        assert part not in lines[0]


@pytest.mark.parametrize(
    "direct",
    [{"database_admin_url": DIRECT_URL}, {"database_listen_url": LISTEN_URL}],
    ids=["admin-url", "listen-url"],
)
def test_a_pooled_url_with_a_direct_one_is_accepted(direct: dict[str, str]) -> None:
    settings = settings_from(db_pooler="pgbouncer", database_url=POOLED_URL, **direct)

    assert settings.db_pooler == "pgbouncer"


def test_without_a_pooler_the_database_url_alone_is_enough() -> None:
    settings = settings_from(database_url=POOLED_URL)

    assert settings.libpq_listen_url() == settings.libpq_database_url()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {
                "db_pooler": "pgbouncer",
                "database_admin_url": DIRECT_URL,
                "database_listen_url": LISTEN_URL,
            },
            LISTEN_URL,
        ),
        ({"db_pooler": "pgbouncer", "database_admin_url": DIRECT_URL}, DIRECT_URL),
        # Without a pooler the pool's own URL reaches PostgreSQL: the admin URL (another
        # role, say) is for the schema commands only.
        ({"db_pooler": "none", "database_admin_url": DIRECT_URL}, POOLED_URL),
    ],
    ids=["listen-url-wins", "admin-url-behind-a-pooler", "database-url-otherwise"],
)
def test_the_listen_connections_reach_postgresql_directly(
    values: dict[str, str], expected: str
) -> None:
    settings = settings_from(database_url=POOLED_URL, **values)

    assert settings.libpq_listen_url() == expected


def test_the_admin_url_defaults_to_the_database_url() -> None:
    settings = settings_from(database_url=POOLED_URL)

    admin = settings.admin_database_url()
    assert admin is not None
    assert admin.get_secret_value() == POOLED_URL


def test_a_set_admin_url_is_the_admin_url() -> None:
    settings = settings_from(database_url=POOLED_URL, database_admin_url=DIRECT_URL)

    admin = settings.admin_database_url()
    assert admin is not None
    assert admin.get_secret_value() == DIRECT_URL


def test_an_admin_url_of_another_database_is_refused_like_the_database_url() -> None:
    text, lines = refusal(database_admin_url=f"mysql://root:{URL_PASSWORD}@localhost/phresh")

    assert [line.split(":")[0] for line in lines] == ["PHRESH_DATABASE_ADMIN_URL"]
    assert URL_PASSWORD not in text


@pytest.mark.parametrize(
    ("values", "size"),
    [
        ({}, 100),
        ({"db_pooler": "pgbouncer", "database_admin_url": DIRECT_URL}, 0),
        # PgBouncer 1.21+ with max_prepared_statements: the cache back, by choice.
        (
            {
                "db_pooler": "pgbouncer",
                "database_admin_url": DIRECT_URL,
                "db_statement_cache_size": 100,
            },
            100,
        ),
        ({"db_statement_cache_size": 0}, 0),
    ],
    ids=["direct", "pgbouncer", "pgbouncer-with-a-size", "direct-with-none"],
)
def test_statements_are_cached_unless_behind_a_transaction_pooler(
    values: dict[str, object], size: int
) -> None:
    settings = settings_from(database_url=POOLED_URL, **values)

    assert settings.db_statement_cache_size_or_default() == size


def test_an_unknown_pooler_is_refused() -> None:
    _, lines = refusal(db_pooler="pgpool")

    assert [line.split(":")[0] for line in lines] == ["PHRESH_DB_POOLER"]
