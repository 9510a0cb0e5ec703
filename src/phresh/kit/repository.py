"""What repositories share: plain SQL through the session, and constraint violations.

Every statement goes through the request's ``AsyncSession`` (public SQLAlchemy API), so a
connection that died is invalidated and replaced by the pool, and every database error
reaches the one mapping in ``phresh.errors`` as a ``DBAPIError``.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import RowMapping, TextClause, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


class ConstraintViolation(Exception):
    """A write broke a database constraint; ``constraint`` names it (None if unknown)."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(constraint)
        self.constraint = constraint


def violated_constraint(exc: IntegrityError) -> str | None:
    # The driver's exception, chained under the DB-API one, knows the constraint's name.
    cause = getattr(exc.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)
    return name if isinstance(name, str) else None


async def flush(session: AsyncSession, *new: object) -> None:
    """Add ``new`` objects (if any) and flush; a broken constraint is a ConstraintViolation
    naming it, for the service to turn into the domain's error."""
    session.add_all(new)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConstraintViolation(violated_constraint(exc)) from exc


class SqlBuilder:
    """Plain SQL with named bind parameters, assembled from fixed fragments.

    Only constants of the calling module are spliced into the text; every value a client
    sent becomes a bind parameter (``:p1``, ``:p2`` ...).
    """

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> str:
        name = f"p{len(self.params) + 1}"
        self.params[name] = value
        return f":{name}"


async def fetch_all(
    session: AsyncSession, statement: str | TextClause, params: Mapping[str, Any]
) -> Sequence[RowMapping]:
    clause = statement if isinstance(statement, TextClause) else text(statement)
    result = await session.execute(clause, dict(params))
    return result.mappings().all()


async def fetch_one(
    session: AsyncSession, statement: str | TextClause, params: Mapping[str, Any]
) -> RowMapping | None:
    clause = statement if isinstance(statement, TextClause) else text(statement)
    result = await session.execute(clause, dict(params))
    return result.mappings().first()


async def fetch_value(
    session: AsyncSession, statement: str | TextClause, params: Mapping[str, Any]
) -> Any:
    clause = statement if isinstance(statement, TextClause) else text(statement)
    return await session.scalar(clause, dict(params))
