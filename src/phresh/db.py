"""The connection pool and the request's connection.

One asyncpg pool per process, opened in the application's lifespan (never at import) and
closed there. A request gets one pooled connection: in autocommit when it only reads (no
BEGIN, no COMMIT, no locks), or in one transaction when it writes, committed before the
response is sent and rolled back on any error.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from fastapi import Depends, Request

from phresh import metrics
from phresh.config import Settings
from phresh.errors import DATABASE_FAILURES, AppError, InvalidInput
from phresh.logs import type_name
from phresh.replica import (
    COMMIT_POSITION_HEADER,
    PRIMARY_POSITION,
    READ_AFTER_HEADER,
    BadPosition,
    Replica,
    open_replica,
    parse_position,
)

logger = logging.getLogger("phresh.sql")

if TYPE_CHECKING:  # generic in asyncpg-stubs only
    Connection = PoolConnectionProxy[asyncpg.Record]
    Pool = asyncpg.Pool[asyncpg.Record]
else:
    Connection = PoolConnectionProxy
    Pool = asyncpg.Pool


def server_settings(settings: Settings) -> dict[str, str]:
    """Sent in each connection's startup packet: no extra round trip per connection.

    Behind a transaction pooler only the application's name: PgBouncer refuses any other
    setting there ("unsupported startup parameter"), and the server connection it hands out
    belongs to whoever it serves next anyway. The timeouts then come from the role's own
    settings (``ALTER ROLE ... IN DATABASE ... SET``, made by `phresh db create-app-role`).
    """
    if settings.db_pooler == "pgbouncer":
        # client_encoding spelled as the server reports it: asyncpg's own "utf-8" differs from
        # the server's "UTF8" as text, and PgBouncer 1.18 then sends a SET client_encoding
        # before every transaction (two statements per request instead of one).
        return {"application_name": "phresh", "client_encoding": "UTF8"}
    return direct_server_settings(settings)


def direct_server_settings(settings: Settings) -> dict[str, str]:
    """The startup settings of a connection made straight to PostgreSQL, whatever the pool's
    path (the LISTEN connections: settings.libpq_listen_url)."""
    return {
        "application_name": "phresh",
        "statement_timeout": str(settings.db_statement_timeout_ms),
        "lock_timeout": str(settings.db_lock_timeout_ms),
        "idle_in_transaction_session_timeout": str(settings.db_idle_in_transaction_timeout_ms),
    }


async def keep_session_state(connection: Any) -> None:
    """What the pool runs when a connection comes back, beyond rolling back an unfinished
    transaction (which it always does): nothing. Phresh never changes a session's state
    (only ``SET LOCAL``, which ends with its transaction), so asyncpg's default ``RESET ALL``
    and friends would be a round trip per request for nothing."""


def _log_query(record: Any) -> None:
    logger.info("sql %.1f ms: %s", record.elapsed * 1000, " ".join(record.query.split()))


# The most of a slow statement's SQL its record carries.
MAX_LOGGED_SQL = 2000


def slow_query_logger(threshold_ms: int) -> Callable[[Any], None]:
    """A query logger (asyncpg's ``add_query_logger``) that logs each statement slower than
    ``threshold_ms``: its SQL (never its parameters) and its duration. asyncpg calls it after
    each statement with ``call_soon``, in a copy of the statement's context: the formatter
    adds the id of the request it ran for (phresh.logs.request_state)."""
    threshold_s = threshold_ms / 1000

    def log_if_slow(record: Any) -> None:
        if record.elapsed < threshold_s:
            return
        fields = {
            "sql": " ".join(record.query.split())[:MAX_LOGGED_SQL],
            "duration_ms": round(record.elapsed * 1000, 1),
        }
        if record.exception is not None:
            # A statement timeout, a cancelled request: which, not its message.
            fields["error"] = type_name(type(record.exception))
        logger.warning("slow query", extra=fields)

    return log_if_slow


async def create_pool(settings: Settings, url: str | None = None) -> Pool:
    """The pool of PHRESH_DATABASE_URL's server, or of ``url`` (the replica's), with one set
    of settings: the replica sits behind the same kind of pooler as the primary."""
    log_slow_queries = (
        slow_query_logger(settings.db_slow_query_ms) if settings.db_slow_query_ms else None
    )

    async def init(connection: "asyncpg.Connection[asyncpg.Record]") -> None:
        if settings.db_echo:
            connection.add_query_logger(_log_query)
        if log_slow_queries is not None:
            connection.add_query_logger(log_slow_queries)

    pool = await asyncpg.create_pool(
        url or settings.libpq_database_url(),
        # Connections are opened when needed: the app starts (and says it is not ready)
        # while the database is still coming up.
        min_size=0,
        max_size=settings.db_pool_size,
        max_inactive_connection_lifetime=settings.db_pool_max_idle_s,
        timeout=settings.db_connect_timeout_s,
        # Each statement's wait in the client: a server that stopped answering (frozen, a
        # dead route) fails the statement with TimeoutError instead of holding it forever.
        command_timeout=settings.db_command_timeout_s(),
        server_settings=server_settings(settings),
        # Behind a transaction pooler none by default: a statement prepared by name on one
        # server connection is not there when the next transaction lands on another
        # ("prepared statement __asyncpg_stmt_27__ does not exist"), and two clients can run
        # each other's statement of the same name. With 0, asyncpg prepares each statement
        # unnamed, in the same round trip.
        statement_cache_size=settings.db_statement_cache_size_or_default(),
        reset=keep_session_state,
        init=init,
    )
    assert pool is not None  # create_pool answers None only when told to skip init
    return pool


class Database:
    """What the lifespan opens and closes: the pool, how long to wait for one of its
    connections, and the optional read replica (phresh.replica)."""

    def __init__(
        self, pool: Pool, acquire_timeout_s: float, replica: Replica | None = None
    ) -> None:
        self.pool = pool
        self.acquire_timeout_s = acquire_timeout_s
        self.replica = replica

    @classmethod
    async def open(cls, settings: Settings) -> "Database":
        pool = await create_pool(settings)
        metrics.pool_opened(pool)
        replica = None
        if (replica_url := settings.libpq_replica_url()) is not None:
            replica_pool = await create_pool(settings, replica_url)
            metrics.pool_opened(replica_pool, "replica")
            replica = await open_replica(settings, pool, replica_pool)
        return cls(pool, settings.db_pool_timeout_s, replica)

    async def close(self) -> None:
        if self.replica is not None:
            metrics.pool_closed(self.replica.pool, "replica")
            await self.replica.close()
        metrics.pool_closed(self.pool)
        await self.pool.close()

    def acquire(self) -> AbstractAsyncContextManager[Connection]:
        """A connection of the primary's pool for the block (``checkout``)."""
        return self.checkout(self.pool)

    @asynccontextmanager
    async def checkout(self, pool: Pool) -> AsyncIterator[Connection]:
        """A connection of ``pool`` (the primary's or the replica's) for the block, waiting at
        most ``acquire_timeout_s`` for one.

        When the block fails because the server ended the connection's session (a restart,
        a failover, a terminated backend), the pool replaces every connection it holds on
        their next acquire: most likely their sessions ended too, and this way one request,
        not one per pooled connection, meets a dead one. The error that escapes is then a
        PostgreSQL connection error (SQLSTATE class 08), whichever way asyncpg noticed. So
        does a write that finds the primary's address leads to a standby (SQLSTATE 25006,
        after a failover): the new connections go where the address leads now.
        """
        name: metrics.PoolName = "primary" if pool is self.pool else "replica"
        # The pool's acquire and release, timed and counted for /metrics.
        async with metrics.PoolCheckout(pool, self.acquire_timeout_s, name) as connection:
            try:
                yield connection
            except (TimeoutError, asyncio.CancelledError):
                # A statement that timed out in the client, or a request cancelled by its
                # deadline: the connection may be in the middle of a statement the server
                # has not answered. It cannot be handed to anyone else: close it (the server
                # rolls back what it held) and let the pool open a new one.
                close_unfinished(connection)
                raise
            except asyncpg.ReadOnlySQLTransactionError:
                await pool.expire_connections()
                raise
            except Exception as exc:
                if isinstance(exc, asyncpg.InternalClientError) and not connection_lost(connection):
                    # asyncpg's protocol read a message it did not expect: most often the
                    # FATAL error of a session the server is ending, ahead of the socket's
                    # end. The connection is of no further use: close it.
                    connection.terminate()
                if not connection_lost(connection):
                    raise
                await pool.expire_connections()
                if not isinstance(exc, asyncpg.InterfaceError | asyncpg.InternalClientError):
                    raise
                # It ended between two statements: asyncpg then says the connection is
                # closed, or released; say it as asyncpg does when it ends mid-statement.
                msg = "the connection to the database was lost"
                raise asyncpg.ConnectionDoesNotExistError(msg) from exc

    @asynccontextmanager
    async def acquire_for_read(self, read_after: int | None = None) -> AsyncIterator[Connection]:
        """A connection to read from: the replica's while it keeps up and has replayed
        ``read_after`` (a WAL position the caller's own write answered), else the primary's.
        A replica that cannot be reached is skipped for the primary, not a failed request."""
        replica = self.replica
        use_replica = (
            replica is not None
            and replica.usable()
            and (read_after is None or await replica.has_replayed(read_after))
        )
        async with AsyncExitStack() as stack:
            connection = None
            if use_replica:
                assert replica is not None
                try:
                    connection = await stack.enter_async_context(self.checkout(replica.pool))
                except REPLICA_UNREACHABLE as exc:
                    replica.mark_unreachable(exc)
            if replica is not None:
                metrics.read_served("primary" if connection is None else "replica")
            if connection is None:
                connection = await stack.enter_async_context(self.acquire())
            yield connection

    async def commit_position(self, connection: Connection) -> str | None:
        """The primary's WAL position after a commit on ``connection``: a read that waits
        for it (X-Phresh-Read-After) sees that commit. None when it cannot be read: the write
        has committed, and must not be answered as a failure (its client would retry it)."""
        try:
            position: str = await connection.fetchval(PRIMARY_POSITION)
        except DATABASE_FAILURES as exc:
            if isinstance(exc, TimeoutError):
                close_unfinished(connection)
            logger.warning("commit position unknown (%s)", type_name(type(exc)))
            return None
        return position


# What acquiring a connection of an unreachable replica raises (connect refused or timed out,
# the server gone or starting): the read then goes to the primary.
REPLICA_UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
)


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_connection(request: Request) -> AsyncIterator[Connection]:
    """One pooled connection per request; for writes, one transaction around the request.

    Safe methods (GET, HEAD, OPTIONS) only read: autocommit, so no BEGIN, nothing to commit
    and no row locks (a lock taken in autocommit would end with its statement); with a
    replica, from the replica when it may answer (``Database.acquire_for_read``). Writes run
    on the primary; with a replica, the response then says the commit's WAL position. A
    connection that died is thrown away, with every other connection of its pool
    (``Database.acquire``).
    """
    database = get_database(request)
    if request.method in READ_ONLY_METHODS:
        read_after = _read_after(request) if database.replica is not None else None
        async with database.acquire_for_read(read_after) as connection:
            yield connection
        return
    async with database.acquire() as connection:
        async with in_transaction(connection):
            yield connection
        if database.replica is not None:
            # Sent by phresh.replica.CommitPositionHeader.
            request.state.commit_position = await database.commit_position(connection)


async def get_primary_connection(request: Request) -> AsyncIterator[Connection]:
    """For reads that must see every commit at once (the live events, read right after
    PostgreSQL said they were written): always the primary, in autocommit."""
    async with get_database(request).acquire() as connection:
        yield connection


def _read_after(request: Request) -> int | None:
    value = request.headers.get(READ_AFTER_HEADER)
    if value is None:
        return None
    try:
        return parse_position(value.strip())
    except BadPosition:
        msg = (
            f"{READ_AFTER_HEADER} must be a position as {COMMIT_POSITION_HEADER} gave it, "
            "such as 0/16B3748."
        )
        raise InvalidInput(msg) from None


def connection_lost(connection: Connection) -> bool:
    """Whether ``connection``'s session is over. asyncpg hands a connection that closed
    back to the pool at once, and the request's proxy then answers every call, this one
    included, with InterfaceError."""
    try:
        return connection.is_closed()
    except asyncpg.InterfaceError:
        return True


def close_unfinished(connection: Connection) -> None:
    """Close a connection that may be waiting on a statement (a timeout, a cancelled
    request): nothing of it can be reused, and the server ends the session's transaction."""
    if not connection_lost(connection):
        connection.terminate()


@asynccontextmanager
async def in_transaction(connection: Connection) -> AsyncIterator[None]:
    """A transaction on ``connection`` (a savepoint inside one): committed when the block
    succeeds or fails with an AppError that ``commits``, rolled back when it fails otherwise,
    unless the connection died (nothing to roll back: the server has ended the transaction,
    and the error that escaped says why)."""
    transaction = connection.transaction()
    await transaction.start()
    try:
        yield
    except (TimeoutError, asyncio.CancelledError):
        # A ROLLBACK would wait on a server that may not answer: closing the connection
        # rolls back too, and takes no round trip.
        close_unfinished(connection)
        raise
    except AppError as exc:
        if exc.commits:
            await transaction.commit()
        elif not connection_lost(connection):
            await transaction.rollback()
        raise
    except BaseException:
        if not connection_lost(connection):
            await transaction.rollback()
        raise
    else:
        await transaction.commit()


# scope="function": the commit runs before the response is sent, so a client never sees a
# 201 for a row that then failed to commit.
ConnectionDep = Annotated[Connection, Depends(get_connection, scope="function")]
PrimaryConnectionDep = Annotated[Connection, Depends(get_primary_connection, scope="function")]
