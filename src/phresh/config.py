"""Typed settings: one class, every variable prefixed ``PHRESH_``."""

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
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


REDIS_SCHEMES = ("redis", "rediss", "unix")
# A statement slower than this is logged (and, on the embedded server, its plan).
DEFAULT_SLOW_QUERY_MS = 200
# The client waits this much longer than the server's statement_timeout for a statement.
COMMAND_TIMEOUT_MARGIN_S = 1.0
# asyncpg's own default.
DEFAULT_STATEMENT_CACHE_SIZE = 100


def default_web_dir() -> Path | None:
    """The web app as `make web-build` builds it in this repository (web/dist), if it has;
    an installed package has no such directory beside it."""
    built = Path(__file__).resolve().parents[2] / "web" / "dist"
    return built if built.is_dir() else None


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
    # None: start the embedded PostgreSQL in ``data_dir`` (development only: elsewhere each
    # process would start a private database of its own, so it is refused).
    database_url: SecretStr | None = None
    # Every CLI command that changes the schema or bulk data (db upgrade/downgrade/check/
    # revision, seed, backup, restore, create-app-role, create-superuser) connects here:
    # directly to PostgreSQL, never through a transaction pooler. None: database_url.
    database_admin_url: SecretStr | None = None
    # none: the pool talks to PostgreSQL (or a session pooler). pgbouncer: it sits behind a
    # transaction pooler such as PgBouncer in pool_mode=transaction, which refuses settings in
    # the startup packet and shares server connections between clients: the timeouts then
    # come from the role (`phresh db create-app-role`), and no statement is prepared by name.
    db_pooler: Literal["none", "pgbouncer"] = "none"
    # The connections that stay in LISTEN (live events, the mail worker) must reach PostgreSQL
    # directly: a transaction pooler would hand their session to others. None: database_url,
    # or behind a transaction pooler database_admin_url (one of the two is then required).
    database_listen_url: SecretStr | None = None
    # Prepared statements asyncpg keeps per connection. None: 100, or 0 behind a transaction
    # pooler (db_statement_cache_size_or_default). PgBouncer 1.21+ with max_prepared_statements
    # set keeps track of them itself: there, 100 gets their speed back.
    db_statement_cache_size: int | None = Field(default=None, ge=0)
    # An optional streaming replica: safe methods (GET, HEAD) read from it unless the caller
    # must see its own recent write (X-Phresh-Read-After) and the replica has not replayed
    # that far, or it lags more than replica_max_lag_ms; writes always go to the primary.
    database_replica_url: SecretStr | None = None
    replica_max_lag_ms: int = Field(default=1000, ge=0)
    data_dir: Path = Path("var/pgdata")
    database_name: str = "phresh"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    # One log line per request (phresh.access), in place of uvicorn's access log.
    access_log: bool = True
    # Whose X-Forwarded-For / X-Forwarded-Proto is believed: a comma-separated list of
    # addresses or networks (the load balancer's), "*" for any. Empty: nobody's, so a client
    # cannot choose the address it is counted under (rate limits, sessions).
    forwarded_allow_ips: str = ""
    # Other origins whose scripts may call the API with credentials (CORS), comma-separated
    # ("https://app.example.com"). Empty: none; the web app is served from this origin.
    cors_origins: str = ""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # json: one JSON object per line; text: readable lines. None: json in production, text
    # elsewhere (log_format_or_default).
    log_format: Literal["json", "text"] | None = None
    migrate_on_start: bool = True
    # A request whose request line and headers pass max_header_bytes is answered 431; one
    # whose request line and headers are not all in header_timeout_s after the connection
    # opened (or after the first byte of a further request on it) is answered 408; either
    # way its connection is closed.
    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    header_timeout_s: float = Field(default=10.0, gt=0)
    # On SIGTERM, readiness answers 503 and every response says "Connection: close" while
    # the server still accepts for shutdown_drain_s, so that a load balancer stops sending
    # first; then it stops accepting, waits up to shutdown_grace_s (whole seconds, as uvicorn
    # counts them) for the requests in flight, and closes the pool. None: 0 in development
    # and test, 5 in production (shutdown_drain_s_or_default).
    shutdown_drain_s: float | None = Field(default=None, ge=0)
    shutdown_grace_s: int = Field(default=10, ge=1)

    # At most this many connections per process, opened when first needed; one that stays
    # idle db_pool_max_idle_s is closed (0: kept open).
    db_pool_size: int = Field(default=20, ge=1)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    db_pool_max_idle_s: float = Field(default=300.0, ge=0)
    db_echo: bool = False
    # A statement slower than this many ms is logged with its SQL (never its parameters),
    # its duration and the request's id; 0: none.
    db_slow_query_ms: int = Field(default=DEFAULT_SLOW_QUERY_MS, ge=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    db_lock_timeout_ms: int = Field(default=5_000, ge=0)
    db_idle_in_transaction_timeout_ms: int = Field(default=60_000, ge=0)
    db_connect_timeout_s: float = Field(default=5.0, gt=0)
    # No request waits longer than this for its answer to start (a frozen database, a full
    # pool, a long queue): it answers 503 with Retry-After. Each statement is also bounded in
    # the client, slightly above statement_timeout (db_command_timeout_s), so a server that
    # stopped answering cannot hold a connection forever.
    request_deadline_s: float = Field(default=20.0, gt=0)

    # Refused outside development even when not set: BaseSettings validates defaults too.
    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    jwt_issuer: str = "phresh"
    jwt_audience: str = "phresh-api"
    jwt_expire_minutes: int = Field(default=60, ge=1)
    # Secrets that sign no more but still verify, comma-separated (blanks around each are
    # ignored), each under jwt_secret's rules: a token carries the id of its key (kid), so
    # one signed before a rotation keeps working until it expires (jwt_previous_secret_list).
    jwt_previous_secrets: SecretStr | None = None
    # Machines' clocks disagree by a little: a token is accepted up to this many seconds
    # after its exp, and from this many seconds before its iat (one minted on a host ahead).
    jwt_leeway_s: int = Field(default=30, ge=0, le=300)

    # Sessions: a refresh token lives refresh_token_days from its issue (a session unused that
    # long ends: the idle limit); a session lives session_max_days from its login whatever its
    # use (the absolute limit), then its owner logs in again.
    refresh_token_days: int = Field(default=30, ge=1)
    session_max_days: int = Field(default=90, ge=1)
    # A request body over this many bytes is refused (413) as soon as its Content-Length or
    # what arrived passes it; a request to an endpoint that needs a token, sent without one,
    # is refused (401) before any of its body is read.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Passwords are hashed with argon2id at these costs (RFC 9106's second choice: 3 passes
    # over 64 MiB, 4 lanes); a hash made with others is renewed at its owner's next login. A
    # process runs at most password_hash_concurrency hashes at once (None: one per core),
    # lets password_hash_queue more wait, and answers any beyond 503 with Retry-After.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=8)
    password_hash_parallelism: int = Field(default=4, ge=1)
    password_hash_concurrency: int | None = Field(default=None, ge=1)
    password_hash_queue: int = Field(default=16, ge=0)
    # Posting a cleaning and making an offer need a verified email.
    require_verified_email: bool = False
    # Where people open the links of Phresh's mails (the web app, or this server). Unset:
    # this server, at http://<host>:<port> (127.0.0.1 when it listens on every interface).
    public_url: str | None = None

    # The built web app (index.html, assets/), served at /. Unset: web/dist of this
    # repository when built there; empty: none (/ then leads to the API docs).
    web_dir: Path | None = Field(default_factory=default_web_dir)

    # Mail. No smtp_host: every mail is written as an .eml file under mail_dir instead.
    smtp_host: str | None = None
    # None: 25, 587 or 465 as smtp_security says.
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    # The longest one SMTP delivery may take, all of it (connect, TLS, login, sending).
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    mail_from: str = "Phresh <no-reply@phresh.localhost>"
    mail_dir: Path = Path("var/mail")
    # A mail is tried mail_max_attempts times, waiting mail_retry_base_s, then twice as long
    # each time up to mail_retry_max_s, before it is marked failed with its last error.
    mail_max_attempts: int = Field(default=10, ge=1)
    mail_retry_base_s: float = Field(default=5.0, gt=0)
    mail_retry_max_s: float = Field(default=900.0, gt=0)
    # `phresh serve` delivers mail in each server process; false: run `phresh worker` apart.
    run_worker: bool = True
    # A job whose worker stopped beating this long (killed, frozen) is taken by another.
    worker_heartbeat_s: float = Field(default=30.0, gt=0)

    # Rate limits ("N/second|minute|hour|day", several joined by ";", as the `limits` library
    # reads them), each counted per client address and per account (login name or email).
    # With redis_url the counters live in Redis and hold across processes and machines.
    redis_url: SecretStr | None = None
    rate_limit_login_per_address: str = "30/minute"
    rate_limit_login_per_account: str = "10/minute"
    rate_limit_register_per_address: str = "10/hour"
    rate_limit_register_per_account: str = "3/hour"
    rate_limit_forgot_password_per_address: str = "10/hour"  # noqa: S105 - a rate
    rate_limit_forgot_password_per_account: str = "3/hour"  # noqa: S105 - a rate
    rate_limit_verify_resend_per_address: str = "10/hour"
    rate_limit_verify_resend_per_account: str = "3/hour"

    # Signs pagination cursors, alone: changing it makes the cursors issued before a 400
    # (their clients start the listing over). None: keys derived from jwt_secret sign them,
    # and those derived from jwt_previous_secrets still verify (cursor_secrets).
    cursor_secret: SecretStr | None = None

    # OpenTelemetry: with a collector's OTLP/HTTP endpoint (http://collector:4318), a span per
    # request and per SQL statement is exported to <endpoint>/v1/traces. Unset: no tracing,
    # and none of its cost.
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "phresh"

    # Live events (GET /events): an idle stream sends a comment line this often, so that
    # proxies keep it open (and a session that ended is noticed: the stream then ends).
    events_keepalive_s: float = Field(default=15.0, gt=0, le=300)

    # GET /metrics (Prometheus) answers clients at these addresses or networks
    # (comma-separated; empty: none) that came through no proxy, and any client that sends
    # metrics_token; to everyone else it is a path like any unknown one.
    metrics_allow: str = "127.0.0.1/32,::1/128"
    # Sent as "Authorization: Bearer <token>", from anywhere; at least 32 characters.
    metrics_token: SecretStr | None = None
    # Where `phresh serve` with several workers makes each run's directory of per-process
    # metric files, removed when it stops. Unset: the system's temporary directory (a tmpfs
    # such as /dev/shm keeps them off the disk).
    metrics_dir: Path | None = None

    # Field validators, so that each error names its variable; their messages state the rule
    # and never the value.
    @field_validator(
        "database_url", "database_admin_url", "database_replica_url", "database_listen_url"
    )
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

    @field_validator("database_listen_url")
    @classmethod
    def need_a_direct_url_behind_a_pooler(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        pooled = info.data.get("db_pooler") == "pgbouncer" and info.data.get("database_url")
        if value is None and pooled and info.data.get("database_admin_url") is None:
            msg = (
                "must be set with PHRESH_DB_POOLER=pgbouncer (or PHRESH_DATABASE_ADMIN_URL): "
                "LISTEN (live events, the mail worker) needs a direct connection to PostgreSQL"
            )
            raise ValueError(msg)
        return value

    @field_validator("password_hash_parallelism")
    @classmethod
    def fit_the_lanes_in_memory(cls, value: int, info: ValidationInfo) -> int:
        memory_kib = info.data.get("password_hash_memory_kib")
        if memory_kib is not None and memory_kib < 8 * value:
            msg = "needs at least 8 KiB of PHRESH_PASSWORD_HASH_MEMORY_KIB per lane (argon2)"
            raise ValueError(msg)
        return value

    @field_validator("public_url", "otel_exporter_otlp_endpoint")
    @classmethod
    def accept_http_urls_only(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            msg = "must be an http:// or https:// URL, such as http://127.0.0.1:8000"
            raise ValueError(msg)
        return value.rstrip("/")

    @field_validator("cors_origins")
    @classmethod
    def accept_exact_origins_only(cls, value: str) -> str:
        for origin in filter(None, (part.strip() for part in value.split(","))):
            parts = urlsplit(origin)
            exact = parts.scheme in {"http", "https"} and parts.netloc and not parts.path
            if not exact or "*" in origin:
                msg = (
                    f"{origin!r} is not an origin: give scheme://host[:port] with no path, "
                    "no wildcard (credentials are allowed, so each origin is named)"
                )
                raise ValueError(msg)
        return value

    def cors_origin_list(self) -> list[str]:
        return [part.strip() for part in self.cors_origins.split(",") if part.strip()]

    @field_validator("web_dir", mode="before")
    @classmethod
    def read_empty_web_dir_as_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_url")
    @classmethod
    def accept_redis_urls_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and urlsplit(value.get_secret_value()).scheme not in REDIS_SCHEMES:
            msg = f"must start with one of {', '.join(s + '://' for s in REDIS_SCHEMES)}"
            raise ValueError(msg)
        return value

    @field_validator(
        "rate_limit_login_per_address",
        "rate_limit_login_per_account",
        "rate_limit_register_per_address",
        "rate_limit_register_per_account",
        "rate_limit_forgot_password_per_address",
        "rate_limit_forgot_password_per_account",
        "rate_limit_verify_resend_per_address",
        "rate_limit_verify_resend_per_account",
    )
    @classmethod
    def accept_rate_limits(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            msg = "must read like 10/minute, or several such joined by ';' (10/minute;100/day)"
            raise ValueError(msg) from None
        return value

    @field_validator("metrics_allow")
    @classmethod
    def accept_networks_only(cls, value: str) -> str:
        try:
            parse_networks(value)
        except ValueError:
            msg = "must list IP addresses or networks, comma-separated (10.0.0.0/8,::1)"
            raise ValueError(msg) from None
        return value

    def metrics_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return parse_networks(self.metrics_allow)

    @field_validator("metrics_token")
    @classmethod
    def refuse_short_metrics_tokens(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_JWT_SECRET_LENGTH:
            msg = (
                f"must be at least {MIN_JWT_SECRET_LENGTH} characters; "
                f"generate one with: {KEY_COMMAND}"
            )
            raise ValueError(msg)
        return value

    def link_base(self) -> str:
        """The start of every link in Phresh's mails."""
        if self.public_url is not None:
            return self.public_url
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::", ""} else self.host  # noqa: S104
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def log_format_or_default(self) -> Literal["json", "text"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.environment == "production" else "text"

    def shutdown_drain_s_or_default(self) -> float:
        if self.shutdown_drain_s is not None:
            return self.shutdown_drain_s
        # A few health checks of a load balancer (one every 1 to 2 s, taken out after 2 or 3
        # failures); nobody waits for one in development.
        return 5.0 if self.environment == "production" else 0.0

    def smtp_port_or_default(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {"none": 25, "starttls": 587, "tls": 465}[self.smtp_security]

    @field_validator("jwt_secret")
    @classmethod
    def refuse_weak_secrets(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        # Absent when PHRESH_ENVIRONMENT itself is invalid: that error is reported already.
        environment = info.data.get("environment", "development")
        broken = broken_secret_rule(value.get_secret_value(), environment)
        if broken is not None:
            raise ValueError(f"must {broken}")
        return value

    @field_validator("jwt_previous_secrets")
    @classmethod
    def refuse_weak_previous_secrets(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        """A previous secret still verifies tokens: a weak one is as bad as a weak current
        one. The error names the entry by its place in the list, never by its value."""
        if value is None:
            return None
        environment = info.data.get("environment", "development")
        secrets = split_secrets(value)
        for number, secret in enumerate(secrets, start=1):
            broken = broken_secret_rule(secret.get_secret_value(), environment)
            if broken is not None:
                raise ValueError(f"entry {number} of {len(secrets)} must {broken}")
        return value

    def jwt_previous_secret_list(self) -> list[SecretStr]:
        """The secrets that still verify tokens but sign none, in the order given."""
        return [] if self.jwt_previous_secrets is None else split_secrets(self.jwt_previous_secrets)

    def cursor_secrets(self) -> list[SecretStr]:
        """The secrets cursor keys are derived from: the first signs, each verifies.
        cursor_secret alone when set; else jwt_secret and then jwt_previous_secrets, so that
        a rotation of the JWT secret carries the cursors along."""
        if self.cursor_secret is not None:
            return [self.cursor_secret]
        return [self.jwt_secret, *self.jwt_previous_secret_list()]

    def db_statement_cache_size_or_default(self) -> int:
        if self.db_statement_cache_size is not None:
            return self.db_statement_cache_size
        return 0 if self.db_pooler == "pgbouncer" else DEFAULT_STATEMENT_CACHE_SIZE

    def db_command_timeout_s(self) -> float | None:
        """How long the client waits for one statement: the server's statement_timeout and a
        margin, so that the server's own error (SQLSTATE 57014) comes first when it can
        answer at all; None when statement_timeout is off (the request deadline still
        applies)."""
        if self.db_statement_timeout_ms == 0:
            return None
        return self.db_statement_timeout_ms / 1000 + COMMAND_TIMEOUT_MARGIN_S

    def async_database_url(self) -> str:
        if self.database_url is None:
            msg = "no database URL: the embedded server has not been started"
            raise RuntimeError(msg)
        return to_async_url(self.database_url.get_secret_value())

    def libpq_database_url(self) -> str:
        """The URL as asyncpg (the application's pool) and the PostgreSQL tools take it."""
        return to_libpq_url(self.async_database_url())

    def admin_database_url(self) -> SecretStr | None:
        """Where schema and bulk-data commands connect: the direct URL, else the app's."""
        return self.database_admin_url or self.database_url

    def libpq_listen_url(self) -> str:
        """Where the connections that stay in LISTEN connect: never through a pooler."""
        if self.database_listen_url is not None:
            return to_libpq_url(self.database_listen_url.get_secret_value())
        if self.db_pooler == "pgbouncer" and self.database_admin_url is not None:
            return to_libpq_url(self.database_admin_url.get_secret_value())
        return self.libpq_database_url()

    def libpq_replica_url(self) -> str | None:
        if self.database_replica_url is None:
            return None
        return to_libpq_url(self.database_replica_url.get_secret_value())


def broken_secret_rule(secret: str, environment: str) -> str | None:
    """The rule a signing secret breaks, phrased to follow "must"; None when it keeps them."""
    if environment != "development" and secret == DEFAULT_JWT_SECRET:
        return (
            f"be set to a private value outside development (here: {environment}); "
            f"generate one with: {KEY_COMMAND}"
        )
    if len(secret) < MIN_JWT_SECRET_LENGTH:
        return f"be at least {MIN_JWT_SECRET_LENGTH} characters; generate one with: {KEY_COMMAND}"
    return None


def split_secrets(value: SecretStr) -> list[SecretStr]:
    """A comma-separated list of secrets, blanks around each and empty entries ignored."""
    parts = value.get_secret_value().split(",")
    return [SecretStr(part.strip()) for part in parts if part.strip()]


def parse_networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Comma-separated addresses or networks; an address is a network of one."""
    return tuple(
        ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()
    )


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
