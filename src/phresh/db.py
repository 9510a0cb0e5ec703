"""The connection pool and the request's connection.

One asyncpg pool per process, opened in the application's lifespan (never at import) and
closed there. A request gets one pooled connection: in autocommit when it only reads (no
BEGIN, no COMMIT, no locks), or in one transaction when it writes, committed before the
response is sent and rolled back on any error.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from fastapi import Depends, Request

from phresh import metrics
from phresh.config import Settings
from phresh.errors import AppError
from phresh.logs import type_name

logger = logging.getLogger("phresh.sql")

if TYPE_CHECKING:  # generic in asyncpg-stubs only
    Connection = PoolConnectionProxy[asyncpg.Record]
    Pool = asyncpg.Pool[asyncpg.Record]
else:
    Connection = PoolConnectionProxy
    Pool = asyncpg.Pool


def server_settings(settings: Settings) -> dict[str, str]:
    """Sent in each connection's startup packet: no extra round trip per connection."""
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


async def create_pool(settings: Settings) -> Pool:
    log_slow_queries = (
        slow_query_logger(settings.db_slow_query_ms) if settings.db_slow_query_ms else None
    )

    async def init(connection: "asyncpg.Connection[asyncpg.Record]") -> None:
        if settings.db_echo:
            connection.add_query_logger(_log_query)
        if log_slow_queries is not None:
            connection.add_query_logger(log_slow_queries)

    pool = await asyncpg.create_pool(
        settings.libpq_database_url(),
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
        reset=keep_session_state,
        init=init,
    )
    assert pool is not None  # create_pool answers None only when told to skip init
    return pool


class Database:
    """What the lifespan opens and closes: the pool, and how long to wait for one of its
    connections."""

    def __init__(self, pool: Pool, acquire_timeout_s: float) -> None:
        self.pool = pool
        self.acquire_timeout_s = acquire_timeout_s

    @classmethod
    async def open(cls, settings: Settings) -> "Database":
        pool = await create_pool(settings)
        metrics.pool_opened(pool)
        return cls(pool, settings.db_pool_timeout_s)

    async def close(self) -> None:
        metrics.pool_closed(self.pool)
        await self.pool.close()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        """A pooled connection for the block, waiting at most ``acquire_timeout_s`` for one.

        When the block fails because the server ended the connection's session (a restart,
        a failover, a terminated backend), the pool replaces every connection it holds on
        their next acquire: most likely their sessions ended too, and this way one request,
        not one per pooled connection, meets a dead one. The error that escapes is then a
        PostgreSQL connection error (SQLSTATE class 08), whichever way asyncpg noticed.
        """
        # The pool's acquire and release, timed and counted for /metrics.
        async with metrics.PoolCheckout(self.pool, self.acquire_timeout_s) as connection:
            try:
                yield connection
            except (TimeoutError, asyncio.CancelledError):
                # A statement that timed out in the client, or a request cancelled by its
                # deadline: the connection may be in the middle of a statement the server
                # has not answered. It cannot be handed to anyone else: close it (the server
                # rolls back what it held) and let the pool open a new one.
                close_unfinished(connection)
                raise
            except Exception as exc:
                if isinstance(exc, asyncpg.InternalClientError) and not connection_lost(connection):
                    # asyncpg's protocol read a message it did not expect: most often the
                    # FATAL error of a session the server is ending, ahead of the socket's
                    # end. The connection is of no further use: close it.
                    connection.terminate()
                if not connection_lost(connection):
                    raise
                await self.pool.expire_connections()
                if not isinstance(exc, asyncpg.InterfaceError | asyncpg.InternalClientError):
                    raise
                # It ended between two statements: asyncpg then says the connection is
                # closed, or released; say it as asyncpg does when it ends mid-statement.
                msg = "the connection to the database was lost"
                raise asyncpg.ConnectionDoesNotExistError(msg) from exc


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_connection(request: Request) -> AsyncIterator[Connection]:
    """One pooled connection per request; for writes, one transaction around the request.

    Safe methods (GET, HEAD, OPTIONS) only read: autocommit, so no BEGIN, nothing to commit
    and no row locks (a lock taken in autocommit would end with its statement). A connection
    that died is thrown away, with every other connection of the pool (``Database.acquire``).
    """
    async with get_database(request).acquire() as connection:
        if request.method in READ_ONLY_METHODS:
            yield connection
            return
        async with in_transaction(connection):
            yield connection


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
