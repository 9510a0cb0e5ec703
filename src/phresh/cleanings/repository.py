"""All SQL about cleanings."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    RowMapping,
    Select,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from phresh.cleanings.schemas import CleaningListQuery, CleaningSort
from phresh.kit.repository import SqlBuilder, fetch_all, fetch_one, fetch_value
from phresh.models import Cleaning, CleaningStatus, CleaningType, Offer, OfferStatus

# The API's view of a cleaning (CleaningRead), shared by every plain-SQL read of one.
LIVE_OPEN = "c.status = 'open' AND c.deleted_at IS NULL"
FROM_CLEANING = 'FROM cleaning c JOIN "user" u ON u.id = c.owner_id'
CLEANING_COLUMNS = (
    "c.id, u.username AS owner, c.name, c.description, c.cleaning_type, c.price, c.status, "
    "c.created_at, c.updated_at"
)


# What an owner sees of their own cleanings: the live ones, and the deleted ones that were
# cancelled by the deletion (a deleted completed cleaning stays hidden, as the public sees it).
OWNER_VISIBLE = "(c.deleted_at IS NULL OR c.status = 'cancelled')"


def _live() -> Select[Cleaning]:
    return select(Cleaning).options(joinedload(Cleaning.owner)).where(Cleaning.deleted_at.is_(None))


INSERT_CLEANING = f"""
WITH inserted AS (
    INSERT INTO cleaning (owner_id, name, description, cleaning_type, price)
    VALUES (:owner_id, :name, :description, :cleaning_type, :price)
    RETURNING *
)
SELECT {CLEANING_COLUMNS}
FROM inserted c JOIN "user" u ON u.id = c.owner_id
"""  # noqa: S608 - CLEANING_COLUMNS is a constant


async def insert_cleaning(
    session: AsyncSession,
    *,
    owner_id: int,
    name: str,
    description: str,
    cleaning_type: CleaningType,
    price: Decimal,
) -> RowMapping:
    """One statement in the request's transaction; answers with the API's view of the row."""
    row = await fetch_one(
        session,
        INSERT_CLEANING,
        {
            "owner_id": owner_id,
            "name": name,
            "description": description,
            "cleaning_type": cleaning_type.value,
            "price": price,
        },
    )
    assert row is not None  # INSERT ... RETURNING always answers its row
    return row


async def get_cleaning(session: AsyncSession, cleaning_id: int) -> Cleaning | None:
    return await session.scalar(_live().where(Cleaning.id == cleaning_id))


async def get_cleaning_including_deleted(
    session: AsyncSession, cleaning_id: int
) -> Cleaning | None:
    return await session.get(Cleaning, cleaning_id)


CLEANING_READ = (
    f"SELECT {CLEANING_COLUMNS} {FROM_CLEANING} WHERE c.id = :cleaning_id AND c.deleted_at IS NULL"
)


async def read_cleaning(session: AsyncSession, cleaning_id: int) -> RowMapping | None:
    """The API's view of a live cleaning, in plain SQL: the hottest read of the service."""
    return await fetch_one(session, CLEANING_READ, {"cleaning_id": cleaning_id})


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
) -> Sequence[RowMapping]:
    """Newest first, keyset on (created_at, id): served by ix_cleaning_owner_id_created_at."""
    query = SqlBuilder()
    conditions = _owned_conditions(query, owner_id, status)
    if after is not None:
        key = f"({query.param(after[0])}, {query.param(after[1])})"
        conditions.append(f"(c.created_at, c.id) < {key}")
    sql = (
        f"SELECT {CLEANING_COLUMNS} {FROM_CLEANING} WHERE {' AND '.join(conditions)} "
        f"ORDER BY c.created_at DESC, c.id DESC LIMIT {query.param(limit)}"
    )
    return await fetch_all(session, sql, query.params)


async def count_owned_cleanings(
    session: AsyncSession, owner_id: int, status: CleaningStatus | None
) -> int:
    query = SqlBuilder()
    conditions = _owned_conditions(query, owner_id, status)
    sql = f"SELECT count(*) FROM cleaning c WHERE {' AND '.join(conditions)}"  # noqa: S608
    count: int = await fetch_value(session, sql, query.params)
    return count


def _owned_conditions(query: SqlBuilder, owner_id: int, status: CleaningStatus | None) -> list[str]:
    conditions = [f"c.owner_id = {query.param(owner_id)}", OWNER_VISIBLE]
    if status is not None:
        conditions.append(f"c.status = {query.param(status.value)}")
    return conditions


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


def _public_conditions(query: SqlBuilder, filters: CleaningListQuery) -> list[str]:
    conditions = [LIVE_OPEN]
    if filters.cleaning_type is not None:
        conditions.append(f"c.cleaning_type = {query.param(filters.cleaning_type.value)}")
    if filters.min_price is not None:
        conditions.append(f"c.price >= {query.param(filters.min_price)}")
    if filters.max_price is not None:
        conditions.append(f"c.price <= {query.param(filters.max_price)}")
    if filters.owner is not None:
        owner = query.param(filters.owner)
        subquery = f'(SELECT id FROM "user" WHERE username = {owner})'  # noqa: S608 - a $n
        conditions.append(f"c.owner_id = {subquery}")
    if filters.q:
        # websearch_to_tsquery reads quotes, operators and SQL as words; the schema bounds
        # q's length and its number of terms (see CleaningListQuery).
        conditions.append(f"c.search @@ websearch_to_tsquery('english', {query.param(filters.q)})")
    return conditions


def public_list_sql(
    filters: CleaningListQuery, *, sort: CleaningSort, after: list[Any] | None, limit: int
) -> tuple[str, dict[str, Any]]:
    """Open cleanings, filtered, in one of three keyset orders; never OFFSET.

    newest walks ix_cleaning_open_created_at backwards, price walks ix_cleaning_open_price;
    the keyset condition is a row comparison on the index's own columns, so the scan starts
    at the cursor. relevance: see ``_relevance_sql``.
    """
    query = SqlBuilder()
    conditions = _public_conditions(query, filters)
    rank = "NULL::real"
    if sort == CleaningSort.relevance:
        return _relevance_sql(query, conditions, after=after, limit=limit)
    if sort == CleaningSort.price:
        if after is not None:
            price = query.param(Decimal(str(after[0])))
            key = f"(CAST({price} AS numeric), {query.param(int(after[1]))})"
            conditions.append(f"(c.price, c.id) > {key}")
        order = "c.price, c.id"
    else:
        if after is not None:
            at = query.param(datetime.fromisoformat(str(after[0])))
            conditions.append(f"(c.created_at, c.id) < ({at}, {query.param(int(after[1]))})")
        order = "c.created_at DESC, c.id DESC"
    sql = (
        f"SELECT {CLEANING_COLUMNS}, {rank} AS rank {FROM_CLEANING} "
        f"WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT {query.param(limit)}"
    )
    return sql, query.params


# Relevance ranks the most recent matches, at most this many. Ranking every match of a
# common word would cost time in proportion to the table (tens of ms at 100k rows, hundreds
# at 1M); the window keeps a search page bounded, and recent cleanings are the bookable ones.
SEARCH_WINDOW = 1000


def _relevance_sql(
    query: SqlBuilder, conditions: list[str], *, after: list[Any] | None, limit: int
) -> tuple[str, dict[str, Any]]:
    """The newest SEARCH_WINDOW matches, ranked by ts_rank_cd; keyset on (rank, id).

    The planner picks how to find the window: the GIN index for rare words, a backward
    walk of ix_cleaning_open_created_at for common ones (they match within a few rows).
    """
    tsquery = f"websearch_to_tsquery('english', :p{len(query.params)})"  # the @@ parameter
    keyset = ""
    if after is not None:
        keyset = (
            f"WHERE (r.rank, r.id) < (CAST({query.param(float(after[0]))} AS real), "
            f"{query.param(int(after[1]))}) "
        )
    sql = (
        f"WITH candidates AS (SELECT c.* FROM cleaning c "  # noqa: S608
        f"WHERE {' AND '.join(conditions)} ORDER BY c.created_at DESC, c.id DESC "
        f"LIMIT {SEARCH_WINDOW}), "
        f"ranked AS (SELECT c.*, ts_rank_cd(c.search, {tsquery}) AS rank FROM candidates c), "
        f"page AS (SELECT * FROM ranked r {keyset}"
        f"ORDER BY r.rank DESC, r.id DESC LIMIT {query.param(limit)}) "
        f"SELECT {CLEANING_COLUMNS}, c.rank FROM page c "
        f'JOIN "user" u ON u.id = c.owner_id ORDER BY c.rank DESC, c.id DESC'
    )
    return sql, query.params


async def list_public_cleanings(
    session: AsyncSession,
    filters: CleaningListQuery,
    *,
    sort: CleaningSort,
    after: list[Any] | None,
    limit: int,
) -> Sequence[RowMapping]:
    sql, params = public_list_sql(filters, sort=sort, after=after, limit=limit)
    return await fetch_all(session, sql, params)


async def count_public_cleanings(session: AsyncSession, filters: CleaningListQuery) -> int:
    query = SqlBuilder()
    conditions = _public_conditions(query, filters)
    sql = f"SELECT count(*) FROM cleaning c WHERE {' AND '.join(conditions)}"  # noqa: S608
    count: int = await fetch_value(session, sql, query.params)
    return count
