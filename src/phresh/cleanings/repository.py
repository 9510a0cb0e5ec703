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

from phresh.cleanings import search
from phresh.cleanings.schemas import CleaningListQuery, CleaningSort
from phresh.kit.repository import SqlBuilder, fetch_all, fetch_one, fetch_value
from phresh.kit.repository import flush as flush  # re-exported: services save through it
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


# A search's tsquery is made by TO_TSQUERY, a short statement before the listing (and one
# before the count), and reaches them as a parameter of type tsquery: a custom plan sees
# the real query (so how many rows match), and a generic plan never parses q again for each
# row it tests (inline, a 16-phrase query took 0.8 s that way). websearch_to_tsquery gets q
# as search.websearch rebuilt it (words, "phrases", one leading -, "or" between terms), a
# syntax it always parses; q as typed could overflow its operator stack (33 dashes: a 500).
TO_TSQUERY = (
    "SELECT t.query::text AS query, querytree(t.query) AS indexable "
    "FROM websearch_to_tsquery('english', :text) AS t(query)"
)
TSQUERY = "CAST(:q AS tsquery)"
MATCH = f"c.search @@ {TSQUERY}"


async def search_tsquery(session: AsyncSession, q: str) -> str | None:
    """``q`` as the text of a tsquery; None when the index has nothing to look up for it.

    That is: no word at all (a separator line), only stop words ("the"), or nothing but
    excluded words once the stop words are gone ("the -oven"). Such a query finds nothing,
    without reading a row: a query that only excludes would have to test every cleaning.
    """
    text = search.websearch(q)
    if not text:
        return None
    row = await fetch_one(session, TO_TSQUERY, {"text": text})
    assert row is not None  # a FROM-function of one row
    if row["indexable"] in ("", "T"):  # querytree's "nothing to look up in the index"
        return None
    return str(row["query"])


def _public_conditions(
    query: SqlBuilder, filters: CleaningListQuery, tsquery: str | None = None
) -> list[str]:
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
    if filters.q is not None:
        # tsquery: from search_tsquery. None (nothing to look up) is a NULL tsquery, which
        # matches no row; one name, as _relevance_sql ranks by the same tsquery.
        query.params["q"] = tsquery
        conditions.append(MATCH)
    return conditions


def public_list_sql(
    filters: CleaningListQuery,
    *,
    sort: CleaningSort,
    after: list[Any] | None,
    limit: int,
    tsquery: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Open cleanings, filtered, in one of three keyset orders; never OFFSET.

    newest walks ix_cleaning_open_created_at backwards, price walks ix_cleaning_open_price;
    the keyset condition is a row comparison on the index's own columns, so the scan starts
    at the cursor. relevance: see ``_relevance_sql``.
    """
    query = SqlBuilder()
    conditions = _public_conditions(query, filters, tsquery)
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


# Relevance ranks the newest SEARCH_WINDOW matches, recent cleanings being the bookable
# ones; the pages of a search by relevance hold those and no others.
SEARCH_WINDOW = 1000
# How many of the newest open cleanings the first step of finding them tests (see below).
SEARCH_SCAN = 10_000


def _window_ctes(conditions: list[str]) -> str:
    """CTEs that end in ``window_hits``: the newest SEARCH_WINDOW matches (id, search).

    Found in two steps, so that the plan does not hang on the planner's guess of how common
    the words are (a pooled connection soon settles on a generic plan, made without the
    tsquery's value, which would fetch every match of a common word through the GIN index
    to keep the newest 1,000): ``recent`` walks ix_cleaning_open_created_at back over the
    newest SEARCH_SCAN open cleanings that pass the other filters, and ``recent_hits`` keeps
    those that match, stopping at SEARCH_WINDOW: for words in one recent cleaning out of ten
    or more, that is the whole window. Only when fewer matched does ``older_hits`` look
    further back, in whatever way the planner picks (the GIN index, for words that rare);
    at worst, for words common only long ago, it reads every older match.
    """
    others = " AND ".join(condition for condition in conditions if condition != MATCH)
    recent = (
        f"SELECT c.id, c.created_at, c.search FROM cleaning c WHERE {others} "  # noqa: S608
        f"ORDER BY c.created_at DESC, c.id DESC LIMIT {SEARCH_SCAN}"
    )
    return (
        f"recent AS MATERIALIZED ({recent}), "  # noqa: S608 - constants and :params
        # No ORDER BY: a materialized CTE is read back in the order it was written (newest
        # first), so the scan stops at the window's last match. Re-sorting here would make
        # servers that do not track a CTE's order (PostgreSQL 15) sort the whole scan first;
        # window_hits sorts the at most 2 x SEARCH_WINDOW rows that come out.
        f"recent_hits AS (SELECT r.* FROM recent r WHERE r.search @@ {TSQUERY} "
        f"LIMIT {SEARCH_WINDOW}), "
        f"older_hits AS (SELECT c.id, c.created_at, c.search FROM cleaning c "
        f"WHERE {' AND '.join(conditions)} "
        f"AND (SELECT count(*) FROM recent_hits) < {SEARCH_WINDOW} "
        "AND (c.created_at, c.id) < "
        "(SELECT r.created_at, r.id FROM recent r ORDER BY r.created_at, r.id LIMIT 1) "
        f"ORDER BY c.created_at DESC, c.id DESC LIMIT {SEARCH_WINDOW}), "
        "window_hits AS (SELECT h.* FROM "
        "(SELECT * FROM recent_hits UNION ALL SELECT * FROM older_hits) h "
        f"ORDER BY h.created_at DESC, h.id DESC LIMIT {SEARCH_WINDOW})"
    )


def _relevance_sql(
    query: SqlBuilder, conditions: list[str], *, after: list[Any] | None, limit: int
) -> tuple[str, dict[str, Any]]:
    """The newest SEARCH_WINDOW matches (``_window_ctes``), ranked by ts_rank_cd; keyset on
    (rank, id). Only the page's rows are read in full."""
    keyset = ""
    if after is not None:
        keyset = (
            f"WHERE (r.rank, r.id) < (CAST({query.param(float(after[0]))} AS real), "
            f"{query.param(int(after[1]))}) "
        )
    sql = (
        f"WITH {_window_ctes(conditions)}, "  # noqa: S608 - constants and :params
        f"ranked AS (SELECT w.id, ts_rank_cd(w.search, {TSQUERY}) AS rank FROM window_hits w), "
        f"page AS (SELECT * FROM ranked r {keyset}"
        f"ORDER BY r.rank DESC, r.id DESC LIMIT {query.param(limit)}) "
        f"SELECT {CLEANING_COLUMNS}, p.rank FROM page p "
        f'JOIN cleaning c ON c.id = p.id JOIN "user" u ON u.id = c.owner_id '
        "ORDER BY p.rank DESC, p.id DESC"
    )
    return sql, query.params


async def list_public_cleanings(
    session: AsyncSession,
    filters: CleaningListQuery,
    *,
    sort: CleaningSort,
    after: list[Any] | None,
    limit: int,
    tsquery: str | None,
) -> Sequence[RowMapping]:
    """A page of the listing; ``tsquery`` is ``search_tsquery`` of ``filters.q``."""
    sql, params = public_list_sql(filters, sort=sort, after=after, limit=limit, tsquery=tsquery)
    return await fetch_all(session, sql, params)


def public_count_sql(
    filters: CleaningListQuery, *, tsquery: str | None = None
) -> tuple[str, dict[str, Any]]:
    """How many cleanings the listing's pages hold, all pages together."""
    query = SqlBuilder()
    conditions = _public_conditions(query, filters, tsquery)
    if filters.effective_sort == CleaningSort.relevance:
        # Relevance pages hold the newest SEARCH_WINDOW matches only: count those, found
        # as _relevance_sql finds them, not every match.
        sql = f"WITH {_window_ctes(conditions)} SELECT count(*) FROM window_hits"  # noqa: S608
    else:
        # Newest and price pages reach every match: all are counted, at a cost that grows
        # with the matches (bench/README.md, "Worst-case search").
        sql = f"SELECT count(*) FROM cleaning c WHERE {' AND '.join(conditions)}"  # noqa: S608
    return sql, query.params


async def count_public_cleanings(
    session: AsyncSession, filters: CleaningListQuery, *, tsquery: str | None
) -> int:
    """How many cleanings the listing holds; ``tsquery`` as for ``list_public_cleanings``."""
    sql, params = public_count_sql(filters, tsquery=tsquery)
    count: int = await fetch_value(session, sql, params)
    return count
