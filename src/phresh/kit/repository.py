"""What repositories share: turning a constraint violation into something a service can read."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction


class ConstraintViolation(Exception):
    """A write broke a database constraint; ``constraint`` names it (None if unknown)."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(constraint)
        self.constraint = constraint


def violated_constraint(exc: IntegrityError) -> str | None:
    # asyncpg's exception, wrapped by SQLAlchemy's adapter, knows the constraint's name.
    cause = getattr(exc.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)
    return name if isinstance(name, str) else None


async def driver_connection(session: AsyncSession) -> Any:
    """The session's own asyncpg connection, for hot reads written as plain SQL.

    Same connection, same transaction (or autocommit) as the ORM uses, so a raw read sees
    what the request wrote; it skips SQLAlchemy's statement compilation and ORM hydration,
    which cost several times the query itself on a primary-key read.
    """
    cached = session.info.get("driver_connection")
    if cached is not None:
        return cached
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapter: Any = raw.dbapi_connection
    if not adapter.autocommit and adapter._transaction is None:
        # SQLAlchemy's asyncpg adapter sends BEGIN lazily, before its own first statement;
        # a plain-SQL statement that comes first must not run outside the request's
        # transaction. The adapter has no public "begin now", hence its own method.
        async with adapter._execute_mutex:
            if adapter._transaction is None:
                await adapter._start_transaction()
    # One lookup per transaction: the session keeps this connection until it ends.
    session.info["driver_connection"] = raw.driver_connection
    return raw.driver_connection


@event.listens_for(Session, "after_transaction_end")
def _forget_driver_connection(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction's end hands the connection back to the pool.
    if transaction.parent is None:
        session.info.pop("driver_connection", None)
