"""All SQL about cleanings."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from phresh.cleanings import search
from phresh.cleanings.schemas import CleaningListQuery, CleaningSort
from phresh.db import Connection
from phresh.kit.repository import SqlBuilder, each, one, select_list
from phresh.models import Cleaning, CleaningStatus, CleaningType

# A cleaning as every read answers it (phresh.models.Cleaning): with its owner's username.
LIVE_OPEN = "c.status = 'open' AND c.deleted_at IS NULL"
FROM_CLEANING = 'FROM cleaning c JOIN "user" u ON u.id = c.owner_id'
CLEANING_COLUMNS = select_list(Cleaning, "c", owner="u.username")


# What an owner sees of their own cleanings: the live ones, and the deleted ones that were
# cancelled by the deletion (a deleted completed cleaning stays hidden, as the public sees it).
OWNER_VISIBLE = "(c.deleted_at IS NULL OR c.status = 'cancelled')"


INSERT_CLEANING = f"""
WITH c AS (
    INSERT INTO cleaning (owner_id, name, description, cleaning_type, price)
    VALUES ($1, $2, $3, $4, $5)
    RETURNING *
)
SELECT {CLEANING_COLUMNS}
FROM c JOIN "user" u ON u.id = c.owner_id
"""  # noqa: S608 - CLEANING_COLUMNS is a constant


async def insert_cleaning(
    connection: Connection,
    *,
    owner_id: int,
    name: str,
    description: str,
    cleaning_type: CleaningType,
    price: Decimal,
) -> Cleaning:
    """One statement in the request's transaction; answers with the new row."""
    cleaning = one(
        Cleaning,
        await connection.fetchrow(
            INSERT_CLEANING, owner_id, name, description, cleaning_type.value, price
        ),
    )
    assert cleaning is not None  # INSERT ... RETURNING always answers its row
    return cleaning


LIVE_BY_ID = f"SELECT {CLEANING_COLUMNS} {FROM_CLEANING} WHERE c.id = $1 AND c.deleted_at IS NULL"


async def get_cleaning(connection: Connection, cleaning_id: int) -> Cleaning | None:
    """A live (not deleted) cleaning: the hottest read of the service."""
    return one(Cleaning, await connection.fetchrow(LIVE_BY_ID, cleaning_id))


ANY_BY_ID = f"SELECT {CLEANING_COLUMNS} {FROM_CLEANING} WHERE c.id = $1"


async def get_cleaning_including_deleted(
    connection: Connection, cleaning_id: int
) -> Cleaning | None:
    return one(Cleaning, await connection.fetchrow(ANY_BY_ID, cleaning_id))


# Every status change takes the row's update lock first, so two requests never both see
# "open" and both act on it; an offer takes the share lock: many offers may be made at
# once, but none while an accept is deciding the cleaning's fate.
LIVE_FOR_UPDATE = f"{LIVE_BY_ID} FOR UPDATE OF c"
LIVE_FOR_SHARE = f"{LIVE_BY_ID} FOR SHARE OF c"


async def get_cleaning_for_update(connection: Connection, cleaning_id: int) -> Cleaning | None:
    """The live cleaning, row-locked until the request's transaction ends."""
    return one(Cleaning, await connection.fetchrow(LIVE_FOR_UPDATE, cleaning_id))


async def get_cleaning_for_share(connection: Connection, cleaning_id: int) -> Cleaning | None:
    """The live cleaning, share-locked until the request's transaction ends."""
    return one(Cleaning, await connection.fetchrow(LIVE_FOR_SHARE, cleaning_id))


# Columns an edit may set: CleaningUpdate's fields, spliced as constants.
EDITABLE = frozenset({"name", "description", "cleaning_type", "price"})


async def update_cleaning(
    connection: Connection, cleaning_id: int, changes: dict[str, object]
) -> Cleaning:
    """Set ``changes`` (keys from EDITABLE) on a live cleaning the caller has locked."""
    query = SqlBuilder(cleaning_id)
    assignments = query.assignments(changes, EDITABLE)
    sql = (
        f"WITH c AS (UPDATE cleaning SET {assignments} "  # noqa: S608 - constants
        f'WHERE id = $1 RETURNING *) SELECT {CLEANING_COLUMNS} FROM c JOIN "user" u '
        "ON u.id = c.owner_id"
    )
    cleaning = one(Cleaning, await connection.fetchrow(sql, *query.params))
    assert cleaning is not None  # the row is locked by this transaction: it is there
    return cleaning


SOFT_DELETE = "UPDATE cleaning SET deleted_at = now(), status = $2 WHERE id = $1"


async def soft_delete(connection: Connection, cleaning_id: int, status: CleaningStatus) -> None:
    await connection.execute(SOFT_DELETE, cleaning_id, status.value)


SET_STATUS = "UPDATE cleaning SET status = $2 WHERE id = $1"


async def set_status(connection: Connection, cleaning_id: int, status: CleaningStatus) -> None:
    await connection.execute(SET_STATUS, cleaning_id, status.value)


async def list_owned_cleanings(
    connection: Connection,
    owner_id: int,
    *,
    limit: int,
    after: tuple[datetime, int] | None,
    status: CleaningStatus | None,
) -> list[Cleaning]:
    """Newest first, keyset on (created_at, id): served by ix_cleaning_owner_id_created_at."""
    query = SqlBuilder()
    conditions = _owned_conditions(query, owner_id, status)
    if after is not None:
        key = query.row(*after)
        conditions.append(f"(c.created_at, c.id) < {key}")
    sql = (
        f"SELECT {CLEANING_COLUMNS} {FROM_CLEANING} WHERE {' AND '.join(conditions)} "
        f"ORDER BY c.created_at DESC, c.id DESC LIMIT {query.param(limit)}"
    )
    return each(Cleaning, await connection.fetch(sql, *query.params))


async def count_owned_cleanings(
    connection: Connection, owner_id: int, status: CleaningStatus | None
) -> int:
    query = SqlBuilder()
    conditions = _owned_conditions(query, owner_id, status)
    sql = f"SELECT count(*) FROM cleaning c WHERE {' AND '.join(conditions)}"  # noqa: S608
    count: int = await connection.fetchval(sql, *query.params)
    return count


def _owned_conditions(query: SqlBuilder, owner_id: int, status: CleaningStatus | None) -> list[str]:
    conditions = [f"c.owner_id = {query.param(owner_id)}", OWNER_VISIBLE]
    if status is not None:
        conditions.append(f"c.status = {query.param(status.value)}")
    return conditions


# A search's tsquery is made by TO_TSQUERY, a short statement before the listing (and one
# before the count), and reaches them as a parameter of type tsquery: a custom plan sees
# the real query (so how many rows match), and a generic plan never parses q again for each
# row it tests (inline, a 16-phrase query took 0.8 s that way). websearch_to_tsquery gets q
# as search.websearch rebuilt it (words, "phrases", one leading -, "or" between terms), a
# syntax it always parses; q as typed could overflow its operator stack (33 dashes: a 500).
TO_TSQUERY = (
    "SELECT t.query::text AS query, querytree(t.query) AS indexable "
    "FROM websearch_to_tsquery('english', $1) AS t(query)"
)


async def search_tsquery(connection: Connection, q: str) -> str | None:
    """``q`` as the text of a tsquery; None when the index has nothing to look up for it.

    That is: no word at all (a separator line), only stop words ("the"), or nothing but
    excluded words once the stop words are gone ("the -oven"). Such a query finds nothing,
    without reading a row: a query that only excludes would have to test every cleaning.
    """
    text = search.websearch(q)
    if not text:
        return None
    record = await connection.fetchrow(TO_TSQUERY, text)
    assert record is not None  # a FROM-function of one row
    if record["indexable"] in ("", "T"):  # querytree's "nothing to look up in the index"
        return None
    return str(record["query"])


class Filters:
    """The WHERE of a public listing: conditions on ``c``, and the tsquery's parameter."""

    def __init__(self, query: SqlBuilder, filters: CleaningListQuery, tsquery: str | None) -> None:
        self.others = [LIVE_OPEN]
        if filters.cleaning_type is not None:
            self.others.append(f"c.cleaning_type = {query.param(filters.cleaning_type.value)}")
        if filters.min_price is not None:
            self.others.append(f"c.price >= {query.param(filters.min_price)}")
        if filters.max_price is not None:
            self.others.append(f"c.price <= {query.param(filters.max_price)}")
        if filters.owner is not None:
            owner = query.param(filters.owner)
            subquery = f'(SELECT id FROM "user" WHERE username = {owner})'  # noqa: S608 - a $n
            self.others.append(f"c.owner_id = {subquery}")
        # tsquery: from search_tsquery, one parameter for the match and the rank alike.
        self.tsquery = f"CAST({query.param(tsquery)} AS tsquery)" if filters.q is not None else None

    def all(self) -> list[str]:
        match = [] if self.tsquery is None else [f"c.search @@ {self.tsquery}"]
        return [*self.others, *match]


def public_list_sql(
    filters: CleaningListQuery,
    *,
    sort: CleaningSort,
    after: list[Any] | None,
    limit: int,
    tsquery: str | None = None,
) -> tuple[str, list[Any]]:
    """Open cleanings, filtered, in one of three keyset orders; never OFFSET.

    newest walks ix_cleaning_open_created_at backwards, price walks ix_cleaning_open_price;
    the keyset condition is a row comparison on the index's own columns, so the scan starts
    at the cursor. relevance: see ``_relevance_sql``.
    """
    query = SqlBuilder()
    where = Filters(query, filters, tsquery)
    if sort == CleaningSort.relevance:
        return _relevance_sql(query, where, after=after, limit=limit)
    conditions = where.all()
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
        f"SELECT {CLEANING_COLUMNS}, NULL::real AS rank {FROM_CLEANING} "
        f"WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT {query.param(limit)}"
    )
    return sql, query.params


# Relevance ranks a window of at most SEARCH_WINDOW matches, recent cleanings being the
# bookable ones: those among the newest SEARCH_SCAN open cleanings, or, when fewer than
# SEARCH_MIN (a default page) match there, the newest matches of all. The pages of a search
# by relevance hold the window and no others.
SEARCH_WINDOW = 1000
SEARCH_SCAN = 10_000
SEARCH_MIN = 20


def _window_ctes(where: Filters) -> str:
    """CTEs that end in ``window_hits``: the search's window (id, search), newest first.

    Found in two steps, so that the cost is bounded whatever the words, and whatever the
    planner guesses of them (a pooled connection soon settles on a generic plan, made
    without the tsquery's value): ``recent`` walks ix_cleaning_open_created_at back over
    the newest SEARCH_SCAN open cleanings that pass the other filters, and ``recent_hits``
    keeps those that match, stopping at SEARCH_WINDOW. Only when fewer than SEARCH_MIN
    matched does ``older_hits`` look further back, through the GIN index: words that rare
    among recent cleanings are rare enough to fetch (a word in one cleaning out of 500 has
    2,000 matches in a million). Words more common than that are never looked up in the GIN
    index, whose matches would all be fetched to keep the newest (at a million rows, 23,000
    heap pages for a word in one cleaning out of 30).
    """
    recent = (
        f"SELECT c.id, c.created_at, c.search FROM cleaning c "  # noqa: S608
        f"WHERE {' AND '.join(where.others)} "
        f"ORDER BY c.created_at DESC, c.id DESC LIMIT {SEARCH_SCAN}"
    )
    return (
        f"recent AS MATERIALIZED ({recent}), "  # noqa: S608 - constants and $n parameters
        # No ORDER BY: a materialized CTE is read back in the order it was written (newest
        # first), so the scan stops at the window's last match. Re-sorting here would make
        # servers that do not track a CTE's order (PostgreSQL 15) sort the whole scan first;
        # window_hits sorts the at most 2 x SEARCH_WINDOW rows that come out.
        f"recent_hits AS (SELECT r.* FROM recent r WHERE r.search @@ {where.tsquery} "
        f"LIMIT {SEARCH_WINDOW}), "
        f"older_hits AS (SELECT c.id, c.created_at, c.search FROM cleaning c "
        f"WHERE {' AND '.join(where.all())} "
        f"AND (SELECT count(*) FROM recent_hits) < {SEARCH_MIN} "
        "AND (c.created_at, c.id) < "
        "(SELECT r.created_at, r.id FROM recent r ORDER BY r.created_at, r.id LIMIT 1) "
        f"ORDER BY c.created_at DESC, c.id DESC LIMIT {SEARCH_WINDOW}), "
        "window_hits AS (SELECT h.* FROM "
        "(SELECT * FROM recent_hits UNION ALL SELECT * FROM older_hits) h "
        f"ORDER BY h.created_at DESC, h.id DESC LIMIT {SEARCH_WINDOW})"
    )


def _relevance_sql(
    query: SqlBuilder, where: Filters, *, after: list[Any] | None, limit: int
) -> tuple[str, list[Any]]:
    """The newest SEARCH_WINDOW matches (``_window_ctes``), ranked by ts_rank_cd; keyset on
    (rank, id). Only the page's rows are read in full."""
    keyset = ""
    if after is not None:
        keyset = (
            f"WHERE (r.rank, r.id) < (CAST({query.param(float(after[0]))} AS real), "
            f"{query.param(int(after[1]))}) "
        )
    sql = (
        f"WITH {_window_ctes(where)}, "  # noqa: S608 - constants and $n parameters
        f"ranked AS (SELECT w.id, ts_rank_cd(w.search, {where.tsquery}) AS rank "
        "FROM window_hits w), "
        f"page AS (SELECT * FROM ranked r {keyset}"
        f"ORDER BY r.rank DESC, r.id DESC LIMIT {query.param(limit)}) "
        f"SELECT {CLEANING_COLUMNS}, p.rank FROM page p "
        f'JOIN cleaning c ON c.id = p.id JOIN "user" u ON u.id = c.owner_id '
        "ORDER BY p.rank DESC, p.id DESC"
    )
    return sql, query.params


async def list_public_cleanings(
    connection: Connection,
    filters: CleaningListQuery,
    *,
    sort: CleaningSort,
    after: list[Any] | None,
    limit: int,
    tsquery: str | None,
) -> list[tuple[Cleaning, float | None]]:
    """A page of the listing, each cleaning with its rank (relevance order only);
    ``tsquery`` is ``search_tsquery`` of ``filters.q``."""
    sql, params = public_list_sql(filters, sort=sort, after=after, limit=limit, tsquery=tsquery)
    pairs = []
    for record in await connection.fetch(sql, *params):
        *fields, rank = record.values()  # CLEANING_COLUMNS, then the rank
        pairs.append((Cleaning(*fields), rank))
    return pairs


def public_count_sql(
    filters: CleaningListQuery, *, tsquery: str | None = None
) -> tuple[str, list[Any]]:
    """How many cleanings the listing's pages hold, all pages together."""
    query = SqlBuilder()
    where = Filters(query, filters, tsquery)
    if filters.effective_sort == CleaningSort.relevance:
        # Relevance pages hold the newest SEARCH_WINDOW matches only: count those, found
        # as _relevance_sql finds them, not every match.
        sql = f"WITH {_window_ctes(where)} SELECT count(*) FROM window_hits"  # noqa: S608
    else:
        # Newest and price pages reach every match: all are counted, at a cost that grows
        # with the matches (bench/README.md, "Worst-case search").
        sql = f"SELECT count(*) FROM cleaning c WHERE {' AND '.join(where.all())}"  # noqa: S608
    return sql, query.params


async def count_public_cleanings(
    connection: Connection, filters: CleaningListQuery, *, tsquery: str | None
) -> int:
    """How many cleanings the listing holds; ``tsquery`` as for ``list_public_cleanings``."""
    sql, params = public_count_sql(filters, tsquery=tsquery)
    count: int = await connection.fetchval(sql, *params)
    return count
