"""All SQL about cleanings."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    cast,
    func,
    literal_column,
    null,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from phresh.cleanings.schemas import CleaningListQuery, CleaningSort
from phresh.models import Cleaning, CleaningStatus, Offer, OfferStatus, User


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


async def get_cleaning_for_share(session: AsyncSession, cleaning_id: int) -> Cleaning | None:
    """The live cleaning, share-locked: many offers may be made at once, but none while an
    accept (which takes the row's update lock) is deciding the cleaning's fate."""
    statement = _live().where(Cleaning.id == cleaning_id).with_for_update(of=Cleaning, read=True)
    return await session.scalar(statement)


async def set_status(session: AsyncSession, cleaning: Cleaning, status: CleaningStatus) -> None:
    cleaning.status = status
    await session.flush()


async def reject_pending_offers(session: AsyncSession, cleaning_id: int) -> None:
    await session.execute(
        update(Offer)
        .where(Offer.cleaning_id == cleaning_id, Offer.status == OfferStatus.pending)
        .values(status=OfferStatus.rejected)
        .execution_options(synchronize_session=False)
    )


def _public_conditions(filters: CleaningListQuery) -> list[ColumnElement[bool]]:
    conditions = [Cleaning.status == CleaningStatus.open, Cleaning.deleted_at.is_(None)]
    if filters.cleaning_type is not None:
        conditions.append(Cleaning.cleaning_type == filters.cleaning_type)
    if filters.min_price is not None:
        conditions.append(Cleaning.price >= filters.min_price)
    if filters.max_price is not None:
        conditions.append(Cleaning.price <= filters.max_price)
    if filters.owner is not None:
        owner_id = select(User.id).where(User.username == filters.owner).scalar_subquery()
        conditions.append(Cleaning.owner_id == owner_id)
    if filters.q:
        conditions.append(Cleaning.search.op("@@")(_tsquery(filters.q)))
    return conditions


def _tsquery(text: str) -> ColumnElement[Any]:
    # websearch_to_tsquery never fails on user input: quotes, operators and SQL are just words.
    return func.websearch_to_tsquery(literal_column("'english'::regconfig"), text)


def public_list_query(
    filters: CleaningListQuery, *, sort: CleaningSort, after: list[Any] | None, limit: int
) -> Select[Cleaning, float | None]:
    """Open cleanings, filtered, in one of three keyset orders; never OFFSET.

    newest walks ix_cleaning_open_created_at backwards, price walks ix_cleaning_open_price;
    relevance ranks (ts_rank_cd) the rows the GIN index matched.
    """
    rank: ColumnElement[Any] = (
        func.ts_rank_cd(Cleaning.search, _tsquery(filters.q)) if filters.q else null()
    )
    statement = (
        select(Cleaning, rank.label("rank"))
        .options(joinedload(Cleaning.owner))
        .where(*_public_conditions(filters))
    )
    if sort == CleaningSort.price:
        if after is not None:
            key = (Decimal(str(after[0])), int(after[1]))
            statement = statement.where(tuple_(Cleaning.price, Cleaning.id) > key)
        statement = statement.order_by(Cleaning.price, Cleaning.id)
    elif sort == CleaningSort.relevance:
        if after is not None:
            statement = statement.where(
                tuple_(cast(rank, Float), Cleaning.id) < (float(after[0]), int(after[1]))
            )
        statement = statement.order_by(rank.desc(), Cleaning.id.desc())
    else:
        if after is not None:
            key_at = (datetime.fromisoformat(str(after[0])), int(after[1]))
            statement = statement.where(tuple_(Cleaning.created_at, Cleaning.id) < key_at)
        statement = statement.order_by(Cleaning.created_at.desc(), Cleaning.id.desc())
    return statement.limit(limit)


async def list_public_cleanings(
    session: AsyncSession,
    filters: CleaningListQuery,
    *,
    sort: CleaningSort,
    after: list[Any] | None,
    limit: int,
) -> list[tuple[Cleaning, float | None]]:
    statement = public_list_query(filters, sort=sort, after=after, limit=limit)
    return [(cleaning, rank) for cleaning, rank in await session.execute(statement)]


async def count_public_cleanings(session: AsyncSession, filters: CleaningListQuery) -> int:
    statement = select(func.count()).select_from(Cleaning).where(*_public_conditions(filters))
    return (await session.scalar(statement)) or 0
