"""Alembic environment (async template).

The URL comes from the Config that ``phresh.migrations.alembic_config`` builds in code.
"""

import asyncio
import logging

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from phresh.migrations import MIGRATION_LOCK_KEY, at_or_after
from phresh.migrations.schema import metadata

logger = logging.getLogger("phresh.migrations")

config = context.config
target_metadata = metadata

# pgqueuer's tables, types and function belong to pgqueuer (installed by migration 0004):
# the drift check compares Phresh's own schema only.
PGQUEUER_PREFIX = "pgqueuer"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and name is not None and name.startswith(PGQUEUER_PREFIX))


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_server_default=True,
        transaction_per_migration=True,
        include_name=include_name,
    )
    if config.attributes.get("skip_if_ahead"):
        current = context.get_context().get_current_revision()
        head = context.get_head_revision()
        ahead = isinstance(head, str) and current != head and at_or_after(current, head)
        if ahead:
            # A newer release migrated this database already (expand/contract: this code
            # runs on it); Alembic would fail looking for a script it does not have.
            logger.warning("migrations: database at %s, later than this code's %s", current, head)
            return
    with context.begin_transaction():
        context.run_migrations()


async def take_migration_lock(connection: AsyncConnection) -> None:
    """Hold the migrations' advisory lock for this connection's session: another process
    migrating waits here, then finds its work done. Released when the session ends."""
    taken = await connection.scalar(text(f"SELECT pg_try_advisory_lock({MIGRATION_LOCK_KEY})"))
    if not taken:
        logger.warning("migrations: another process is migrating this database; waiting for it")
        await connection.execute(text(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
    # End the transaction SQLAlchemy began: each migration runs in a transaction of its own.
    await connection.commit()


async def run_async_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_async_engine(
        url,
        poolclass=pool.NullPool,
        connect_args={"server_settings": {"application_name": "phresh-migrate"}},
    )
    try:
        async with engine.connect() as connection:
            await take_migration_lock(connection)
            await connection.run_sync(do_run_migrations)
    finally:
        # NullPool: the connection's session ends here, and the lock with it.
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
