"""Engine, sessionmaker and the request-scoped session.

The engine is created in the application's lifespan (never at import) and disposed there.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from phresh.config import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(
        settings.async_database_url(),
        echo=settings.db_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        pool_recycle=settings.db_pool_recycle_s,
        pool_pre_ping=settings.db_pool_pre_ping,
        connect_args={
            "timeout": settings.db_connect_timeout_s,
            # Sent in the startup packet: no extra round trip per connection.
            "server_settings": {
                "application_name": "phresh",
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "lock_timeout": str(settings.db_lock_timeout_ms),
                "idle_in_transaction_session_timeout": str(
                    settings.db_idle_in_transaction_timeout_ms
                ),
            },
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class Database:
    """What the lifespan opens and closes: one engine (one pool) and its sessionmakers.

    ``read_sessionmaker`` runs in autocommit mode: a request that only reads needs no
    BEGIN and COMMIT round trips; each of its statements sees a committed snapshot.
    """

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings)
        self.sessionmaker = create_sessionmaker(self.engine)
        self.read_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.read_sessionmaker = create_sessionmaker(self.read_engine)

    async def dispose(self) -> None:
        await self.engine.dispose()


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; for writes one transaction: commit on success, else roll back.

    Safe methods (GET, HEAD, OPTIONS) only read: an autocommit session, no BEGIN, nothing to
    commit, and no row locks (a lock taken in autocommit would end with its statement).
    """
    database = get_database(request)
    if request.method in READ_ONLY_METHODS:
        async with database.read_sessionmaker() as session:
            yield session
        return
    async with database.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


# scope="function": the commit runs before the response is sent, so a client never sees a
# 201 for a row that then failed to commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
