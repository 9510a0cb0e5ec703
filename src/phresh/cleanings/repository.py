"""All SQL about cleanings."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from phresh.models import Cleaning, CleaningStatus


def _live() -> Select[Cleaning]:
    return select(Cleaning).options(joinedload(Cleaning.owner)).where(Cleaning.deleted_at.is_(None))


async def insert_cleaning(session: AsyncSession, cleaning: Cleaning) -> Cleaning:
    session.add(cleaning)
    await session.flush()
    return cleaning


async def get_cleaning(session: AsyncSession, cleaning_id: int) -> Cleaning | None:
    return await session.scalar(_live().where(Cleaning.id == cleaning_id))


async def get_cleaning_for_update(session: AsyncSession, cleaning_id: int) -> Cleaning | None:
    """The live cleaning, row-locked until the request's transaction ends.

    Every status change takes this lock first, so two requests never both see "open" and
    both act on it.
    """
    statement = _live().where(Cleaning.id == cleaning_id).with_for_update(of=Cleaning)
    return await session.scalar(statement)


async def list_owned_cleanings(
    session: AsyncSession,
    owner_id: int,
    *,
    limit: int,
    after: tuple[datetime, int] | None,
    status: CleaningStatus | None,
) -> Sequence[Cleaning]:
    """Newest first, keyset on (created_at, id): served by ix_cleaning_owner_id_created_at."""
    statement = _live().where(Cleaning.owner_id == owner_id)
    if status is not None:
        statement = statement.where(Cleaning.status == status)
    if after is not None:
        statement = statement.where(tuple_(Cleaning.created_at, Cleaning.id) < after)
    statement = statement.order_by(Cleaning.created_at.desc(), Cleaning.id.desc()).limit(limit)
    return (await session.scalars(statement)).all()


async def count_owned_cleanings(
    session: AsyncSession, owner_id: int, status: CleaningStatus | None
) -> int:
    statement = (
        select(func.count())
        .select_from(Cleaning)
        .where(Cleaning.owner_id == owner_id, Cleaning.deleted_at.is_(None))
    )
    if status is not None:
        statement = statement.where(Cleaning.status == status)
    return (await session.scalar(statement)) or 0


async def soft_delete(session: AsyncSession, cleaning: Cleaning, status: CleaningStatus) -> None:
    await session.execute(
        update(Cleaning)
        .where(Cleaning.id == cleaning.id)
        .values(deleted_at=func.now(), status=status)
        .execution_options(synchronize_session=False)
    )


async def flush(session: AsyncSession) -> None:
    await session.flush()
