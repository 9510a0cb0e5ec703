"""What Phresh counts for Prometheus, and the calls that count it.

The families live in prometheus_client's default registry. Under ``phresh serve`` with
several workers, PROMETHEUS_MULTIPROC_DIR is set before any worker starts
(``phresh.metrics.serving``), so each process writes its values to files there and the
process answering GET /metrics adds them all up (``phresh.metrics.asgi``); without it, one
process, the values are read from memory. Gauges say how the processes' values combine:
``livesum``, the sum over the processes alive.

Every label takes few values whatever clients send: a route is its template, a method one of
a fixed set, a reason or an action one of the names listed here. The counters of such fixed
names start at 0 for each, so that a rate is defined before the first event.

Nothing here imports the rest of Phresh: errors, db, ratelimit and the services call in.
"""

import time
from types import TracebackType
from typing import TYPE_CHECKING, Literal, NamedTuple, get_args

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from phresh.metrics.serving import announce_process

if TYPE_CHECKING:
    from phresh.db import Connection, Pool

# No *_created series beside each counter and histogram: twice the series, for a start time
# that Prometheus finds from the counters' resets anyway. (Multiprocess mode has none.)
disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds. From the 1 ms of a cached read to the 20 s of the request deadline.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20)
# Seconds spent waiting for a pooled connection: nothing at all, mostly; up to the 5 s of
# PHRESH_DB_POOL_TIMEOUT_S when the pool is full.
POOL_WAIT_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter(
    "phresh_http_requests",
    "Requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "phresh_http_request_duration_seconds",
    "From the request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "phresh_http_requests_in_flight",
    "Requests under way (scrapes of /metrics not included).",
    multiprocess_mode="livesum",
)

UnavailableReason = Literal[
    "statement_timeout",  # SQLSTATE 57014: PHRESH_DB_STATEMENT_TIMEOUT_MS
    "lock_timeout",  # 55P03: PHRESH_DB_LOCK_TIMEOUT_MS
    "conflict",  # 40001, 40P01: a serialization failure, a deadlock
    "connection",  # class 08, or the socket's own error: the database is unreachable
    "overloaded",  # class 53: too many connections, out of memory or disk
    "shutdown",  # 57P0x: the server is shutting down or starting
    "timeout",  # no pooled connection in time, or no answer to a statement in time
    "deadline",  # PHRESH_REQUEST_DEADLINE_S passed (phresh.kit.deadline)
    "read_only",  # 25006: a write reached a standby (a failover): the pool is renewed
]
UNAVAILABLE_REASONS: tuple[UnavailableReason, ...] = get_args(UnavailableReason)
UNAVAILABLE = Counter(
    "phresh_http_unavailable",
    "503 answers (retry shortly) by reason: database timeouts and failures, the deadline.",
    ["reason"],
)

DB_POOL_CONNECTIONS = Gauge(
    "phresh_db_pool_connections",
    "Connections the pools hold open (each process's as of its last checkout or scrape).",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_MAX = Gauge(
    "phresh_db_pool_max_connections",
    "Connections the pools may open at most (PHRESH_DB_POOL_SIZE per process).",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_CHECKED_OUT = Gauge(
    "phresh_db_pool_checked_out",
    "Pooled connections in use by a request or the mail worker.",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "phresh_db_pool_waiting",
    "Checkouts waiting for a connection: demand beyond the pools' size.",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_WAIT = Histogram(
    "phresh_db_pool_wait_seconds",
    "Time a checkout waited for its connection, whether it got one or timed out.",
    ["pool"],
    buckets=POOL_WAIT_BUCKETS,
)
DB_POOL_TIMEOUTS = Counter(
    "phresh_db_pool_timeouts",
    "Checkouts that got no connection within PHRESH_DB_POOL_TIMEOUT_S.",
    ["pool"],
)
# Which pool: the primary's (every write, and reads without a replica) or the read replica's
# (PHRESH_DATABASE_REPLICA_URL).
PoolName = Literal["primary", "replica"]
POOL_NAMES: tuple[PoolName, ...] = get_args(PoolName)
DB_READS = Counter(
    "phresh_db_reads",
    "Requests that only read (GET, HEAD), by the pool that served them.",
    ["pool"],
)
DB_REPLICA_LAG = Gauge(
    "phresh_db_replica_lag_seconds",
    "How far behind the primary the read replica may be, at most (each process's last check).",
    multiprocess_mode="livemax",
)

LoginFailure = Literal["unknown_account", "wrong_password", "inactive"]
LOGIN_FAILURE_REASONS: tuple[LoginFailure, ...] = get_args(LoginFailure)
LOGIN_FAILURES = Counter(
    "phresh_login_failures",
    "Logins refused for their credentials (401), by reason; rate-limited ones not included.",
    ["reason"],
)

# The values of phresh.ratelimit's Action and Scope (not imported: it imports this module's
# callers).
RATE_LIMIT_ACTIONS = ("login", "register", "forgot_password", "verify_resend")
RATE_LIMIT_SCOPES = ("address", "account")
RATE_LIMIT_REFUSALS = Counter(
    "phresh_rate_limit_refusals",
    "Attempts refused (429) by action, and by what was over its limit: address or account.",
    ["action", "scope"],
)

MailFailure = Literal["retrying", "given_up"]
MAIL_FAILURE_OUTCOMES: tuple[MailFailure, ...] = get_args(MailFailure)
MAIL_FAILURES = Counter(
    "phresh_mail_delivery_failures",
    "Failed mail deliveries: retrying (tried again later) or given_up (marked failed).",
    ["outcome"],
)

# Under several workers, this process's gauges leave the sums when it is gone.
announce_process()

for _reason in UNAVAILABLE_REASONS:
    UNAVAILABLE.labels(_reason)
for _login in LOGIN_FAILURE_REASONS:
    LOGIN_FAILURES.labels(_login)
for _action in RATE_LIMIT_ACTIONS:
    for _scope in RATE_LIMIT_SCOPES:
        RATE_LIMIT_REFUSALS.labels(_action, _scope)
for _outcome in MAIL_FAILURE_OUTCOMES:
    MAIL_FAILURES.labels(_outcome)


class PoolSeries(NamedTuple):
    """One pool's children of the pool families, looked up once: a label lookup takes a
    lock, and a checkout happens on every request."""

    waiting: Gauge
    checked_out: Gauge
    size: Gauge
    wait: Histogram
    timeouts: Counter
    reads: Counter


POOL_SERIES = {
    _name: PoolSeries(
        DB_POOL_WAITING.labels(_name),
        DB_POOL_CHECKED_OUT.labels(_name),
        DB_POOL_CONNECTIONS.labels(_name),
        DB_POOL_WAIT.labels(_name),
        DB_POOL_TIMEOUTS.labels(_name),
        DB_READS.labels(_name),
    )
    for _name in POOL_NAMES
}


def unavailable(reason: UnavailableReason) -> None:
    """Count a 503 answered for ``reason``."""
    UNAVAILABLE.labels(reason).inc()


def login_failed(reason: LoginFailure) -> None:
    LOGIN_FAILURES.labels(reason).inc()


def rate_limited(action: str, scope: str) -> None:
    """Count a refusal of ``action`` (a ratelimit.Action) for its ``scope`` (a Scope)."""
    RATE_LIMIT_REFUSALS.labels(action, scope).inc()


def mail_failed(outcome: MailFailure) -> None:
    MAIL_FAILURES.labels(outcome).inc()


def pool_opened(pool: "Pool", name: PoolName = "primary") -> None:
    DB_POOL_MAX.labels(name).inc(pool.get_max_size())


def pool_closed(pool: "Pool", name: PoolName = "primary") -> None:
    DB_POOL_MAX.labels(name).dec(pool.get_max_size())
    DB_POOL_CONNECTIONS.labels(name).set(0)


def pool_sampled(pool: "Pool", name: PoolName = "primary") -> None:
    POOL_SERIES[name].size.set(pool.get_size())


def read_served(name: PoolName) -> None:
    POOL_SERIES[name].reads.inc()


def replica_lag(seconds: float) -> None:
    DB_REPLICA_LAG.set(seconds)


class PoolCheckout:
    """``async with PoolCheckout(pool, timeout) as connection``: asyncpg's ``pool.acquire``
    and ``pool.release``, with the wait timed and the connections in use counted."""

    __slots__ = ("connection", "pool", "series", "timeout")

    def __init__(self, pool: "Pool", timeout: float, name: PoolName = "primary") -> None:
        self.pool = pool
        self.timeout = timeout
        self.series = POOL_SERIES[name]
        self.connection: Connection | None = None

    async def __aenter__(self) -> "Connection":
        self.series.waiting.inc()
        started = time.perf_counter()
        try:
            connection = await self.pool.acquire(timeout=self.timeout)
        except TimeoutError:
            self.series.timeouts.inc()
            raise
        finally:
            self.series.wait.observe(time.perf_counter() - started)
            self.series.waiting.dec()
        self.series.checked_out.inc()
        # When it opens connections: a checkout that found none idle.
        self.series.size.set(self.pool.get_size())
        self.connection = connection
        return connection

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection, self.connection = self.connection, None
        self.series.checked_out.dec()
        if connection is not None:
            await self.pool.release(connection)
