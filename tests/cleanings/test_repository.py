"""A page costs the same at the first row and deep in the table: proven with EXPLAIN ANALYZE."""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from phresh.cleanings.repository import (
    SEARCH_MIN,
    SEARCH_SCAN,
    SEARCH_WINDOW,
    public_count_sql,
    public_list_sql,
    search_tsquery,
)
from phresh.cleanings.schemas import CleaningListQuery, CleaningSort
from phresh.db import Connection
from phresh.feed.repository import FEED_SQL
from tests.fixtures.factories import create_user

ROWS = 30_000
PAGE = 21


@pytest.fixture
async def seeded(connection: Connection) -> None:
    owner = await create_user(connection)
    await connection.execute(
        "INSERT INTO cleaning (owner_id, name, description, cleaning_type, price, "
        "created_at, updated_at) "
        "SELECT $1, 'Job ' || n, 'kitchen and bathroom ' || n, "
        "(ARRAY['dust_up','spot_clean','full_clean'])[1 + n % 3], 10 + (n % 900), "
        "timestamptz '2026-01-01' + n * interval '1 minute', "
        "timestamptz '2026-01-01' + n * interval '1 minute' "
        "FROM generate_series(1, $2) AS n",
        owner.id,
        ROWS,
    )
    # The new rows' search entries wait in the GIN index's pending list, which autovacuum
    # would soon merge; left there, every scan of the index reads the whole list, and the
    # planner avoids the index or not depending on what earlier tests left in it.
    await connection.execute("SELECT gin_clean_pending_list('ix_cleaning_search'::regclass)")
    await connection.execute("ANALYZE cleaning")


def first_plan(raw: Any) -> dict[str, Any]:
    """The top plan node of EXPLAIN (FORMAT JSON)'s answer (asyncpg reads json as text)."""
    plan: dict[str, Any] = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    return plan


async def explain(connection: Connection, sql: str, params: Sequence[Any]) -> dict[str, Any]:
    """EXPLAIN ANALYZE of ``sql`` with its parameters' values: a custom plan.

    asyncpg sends the EXPLAIN as a prepared statement with ``params`` bound to it, and
    PostgreSQL plans the explained query with those values as constants, whatever
    plan_cache_mode says: to see a generic plan, see ``explain_generic``.
    """
    return first_plan(await connection.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *params))


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found.extend(nodes(child))
    return found


def index_rows_read(plan: dict[str, Any], index: str) -> int:
    scans = [n for n in nodes(plan) if n.get("Index Name") == index]
    assert scans, f"{index} not used: {[n['Node Type'] for n in nodes(plan)]}"
    return round(sum(float(n["Actual Rows"]) for n in scans))


def assert_no_full_sort_or_offset(plan: dict[str, Any]) -> None:
    types = {n["Node Type"] for n in nodes(plan)}
    assert "Sort" not in types, types
    assert "Seq Scan" not in {
        n["Node Type"] for n in nodes(plan) if n.get("Relation Name") == "cleaning"
    }


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    ("sort", "deep_key", "index"),
    [
        (CleaningSort.newest, ["2026-01-01T00:30:00+00:00", 30], "ix_cleaning_open_created_at"),
        (CleaningSort.price, ["908", 28_000], "ix_cleaning_open_price"),
    ],
)
async def test_first_and_deep_pages_read_the_same_index_rows(
    connection: Connection, sort: CleaningSort, deep_key: list[Any], index: str
) -> None:
    filters = CleaningListQuery(sort=sort)

    first = await explain(connection, *public_list_sql(filters, sort=sort, after=None, limit=PAGE))
    deep = await explain(
        connection, *public_list_sql(filters, sort=sort, after=deep_key, limit=PAGE)
    )

    for plan in (first, deep):
        assert_no_full_sort_or_offset(plan)
        assert index_rows_read(plan, index) <= PAGE
    assert "Offset" not in json.dumps(first) + json.dumps(deep)


async def relevance_sql(connection: Connection, q: str) -> tuple[str, list[Any]]:
    tsquery = await search_tsquery(connection, q)
    assert tsquery is not None
    filters = CleaningListQuery(q=q)
    return public_list_sql(
        filters, sort=CleaningSort.relevance, after=None, limit=PAGE, tsquery=tsquery
    )


def literal(value: Any) -> str:
    """``value`` as an SQL literal of unknown type, which takes the parameter's type."""
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


async def explain_generic(
    connection: Connection, sql: str, params: Sequence[Any]
) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the generic plan: the one a pooled connection settles on after a
    few executions of a statement, made without looking at the parameters' values.

    A parameterised EXPLAIN would plan with the values (see ``explain``); an SQL prepared
    statement, run by EXECUTE under force_generic_plan, is planned as asyncpg's cached
    statements are once PostgreSQL has chosen the generic plan for them (the same $n, their
    types inferred alike). EXECUTE takes no $n of its own: the values go in as literals.
    """
    await connection.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    await connection.execute(f"PREPARE generic_plan AS {sql}")
    try:
        # A savepoint: should the EXPLAIN fail, DEALLOCATE still runs (a prepared statement
        # outlives the test's transaction, on a connection the pool hands out again).
        async with connection.transaction():
            raw = await connection.fetchval(
                "EXPLAIN (ANALYZE, FORMAT JSON) "
                f"EXECUTE generic_plan({', '.join(literal(value) for value in params)})"
            )
    finally:
        await connection.execute("DEALLOCATE generic_plan")
    return first_plan(raw)


def cleaning_rows_read(plan: dict[str, Any]) -> int:
    """Rows the plan's scans of the cleaning table returned, all loops together."""
    # PostgreSQL 18 gives Actual Rows as a per-loop average with decimals (0.5, 1.33).
    return round(
        sum(
            float(n["Actual Rows"]) * max(int(n.get("Actual Loops", 1)), 1)
            for n in nodes(plan)
            if n.get("Relation Name") == "cleaning"
        )
    )


@pytest.mark.usefixtures("seeded")
async def test_search_uses_the_gin_index(
    connection: Connection,
) -> None:
    plan = await explain(connection, *await relevance_sql(connection, "17777"))

    used = {n.get("Index Name") for n in nodes(plan)}
    assert "ix_cleaning_search" in used
    assert plan["Actual Rows"] == 1


@pytest.mark.usefixtures("seeded")
async def test_feed_first_and_deep_pages_read_at_most_a_page_per_index(
    connection: Connection,
) -> None:
    # Touch some rows so the "updated" branch has events of its own.
    await connection.execute("UPDATE cleaning SET name = name || '!' WHERE id % 100 = 0")
    await connection.execute("ANALYZE cleaning")
    first = (datetime.fromisoformat("2030-01-01T00:00:00+00:00"), 2**63 - 1)
    deep = (datetime.fromisoformat("2026-01-01T01:00:00+00:00"), 60)

    for before in (first, deep):
        plan = await explain(connection, FEED_SQL, [before[0], before[1], PAGE])
        assert index_rows_read(plan, "ix_cleaning_live_created_at") <= PAGE
        assert "Seq Scan" not in {n["Node Type"] for n in nodes(plan)}


@pytest.mark.usefixtures("seeded")
async def test_search_for_a_common_word_ranks_a_bounded_window(
    connection: Connection,
) -> None:
    # Every seeded row says "kitchen": ranking them all would grow with the table.
    plan = await explain(connection, *await relevance_sql(connection, "kitchen"))

    assert plan["Actual Rows"] == PAGE
    assert max(int(n["Actual Rows"]) for n in nodes(plan)) <= SEARCH_WINDOW


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    "q", ["kitchen", '"kitchen and" or "and bathroom" or "bathroom 1" or "bathroom 2"']
)
async def test_generic_search_plan_reads_one_window_and_never_parses_q_per_row(
    connection: Connection, q: str
) -> None:
    # All 30,000 rows match. A generic plan cannot know that: it must not fetch every match
    # (the GIN index's way) to keep the newest SEARCH_WINDOW, nor parse q again per row.
    plan = await explain_generic(connection, *await relevance_sql(connection, q))

    assert plan["Actual Rows"] == PAGE
    assert cleaning_rows_read(plan) <= SEARCH_WINDOW + PAGE
    assert index_rows_read(plan, "ix_cleaning_search") == 0  # planned, never run
    assert "websearch_to_tsquery" not in json.dumps(plan)


@pytest.mark.usefixtures("seeded")
async def test_generic_search_plan_of_a_rare_word_walks_the_scan_then_asks_the_index(
    connection: Connection,
) -> None:
    plan = await explain_generic(connection, *await relevance_sql(connection, "17777"))

    assert plan["Actual Rows"] == 1
    assert index_rows_read(plan, "ix_cleaning_open_created_at") == SEARCH_SCAN
    assert "ix_cleaning_search" in {n.get("Index Name") for n in nodes(plan)}
    assert cleaning_rows_read(plan) <= SEARCH_SCAN + 2


@pytest.mark.usefixtures("seeded")
async def test_count_by_relevance_reads_one_window(
    connection: Connection,
) -> None:
    tsquery = await search_tsquery(connection, "kitchen")
    filters = CleaningListQuery(q="kitchen", with_count=True)

    plan = await explain(connection, *public_count_sql(filters, tsquery=tsquery))

    assert cleaning_rows_read(plan) <= SEARCH_WINDOW


@pytest.mark.usefixtures("seeded")
async def test_a_word_common_enough_among_recent_cleanings_is_not_looked_up_further_back(
    connection: Connection,
) -> None:
    # One cleaning in 50 says "carpet": 200 of the newest SEARCH_SCAN, more than SEARCH_MIN
    # but fewer than SEARCH_WINDOW. Fetching every older match to keep the newest would
    # grow with the table; the window is the recent matches.
    await connection.execute(
        "UPDATE cleaning SET description = description || ' carpet' WHERE id % 50 = 0"
    )
    await connection.execute("ANALYZE cleaning")

    plan = await explain(connection, *await relevance_sql(connection, "carpet"))

    assert plan["Actual Rows"] == PAGE
    assert SEARCH_MIN < SEARCH_SCAN // 50 < SEARCH_WINDOW
    assert cleaning_rows_read(plan) <= SEARCH_SCAN + PAGE
    assert not [
        n
        for n in nodes(plan)
        if n.get("Index Name") == "ix_cleaning_search" and float(n["Actual Rows"]) > 0
    ]
